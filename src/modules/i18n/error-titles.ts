/**
 * problem+json `title` per error code and locale. The English titles are the status phrases
 * (STATUS_TITLES) clients have always seen; other locales translate them per code, so a code can
 * get a more precise title later without touching its status. `code` itself never changes.
 */
import { ERROR_CODES, type ErrorCode, STATUS_TITLES } from "../../errors";

const HE_BY_STATUS: Record<number, string> = {
  400: "בקשה שגויה",
  401: "נדרשת הזדהות",
  403: "אין הרשאה",
  404: "לא נמצא",
  405: "השיטה אינה מותרת",
  408: "תם הזמן לבקשה",
  409: "התנגשות",
  410: "אינו קיים עוד",
  412: "תנאי מקדים נכשל",
  413: "התוכן גדול מדי",
  415: "סוג מדיה לא נתמך",
  422: "לא ניתן לעבד את התוכן",
  426: "נדרש שדרוג",
  428: "נדרש תנאי מקדים",
  429: "יותר מדי בקשות",
  431: "כותרות הבקשה גדולות מדי",
  500: "שגיאת שרת פנימית",
  503: "השירות אינו זמין",
};

/** The `errors` namespace of the catalogue: `{ en: { NOT_FOUND: "Not Found", … }, he: { … } }`. */
export function errorTitleResources(): Record<"en" | "he", Record<string, string>> {
  const en: Record<string, string> = {};
  const he: Record<string, string> = {};
  for (const [code, status] of Object.entries(ERROR_CODES) as Array<[ErrorCode, number]>) {
    en[code] = STATUS_TITLES[status] ?? "Error";
    const title = HE_BY_STATUS[status];
    if (title) he[code] = title;
  }
  return { en, he };
}
