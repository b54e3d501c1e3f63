/**
 * The shipped texts of every notification type, per locale and channel. Keys in the catalogue's
 * `notifications` namespace are `<type>.<channel>.title|body`; an administrator's override of one
 * (the `translations` table, ./overrides.ts) wins over these. Placeholders are `{{variable}}`
 * (declared in ./catalogue.ts); Hebrew texts get every variable wrapped in bidi isolates at render.
 */
import { addCatalogResources } from "../i18n/catalog";
import type { Locale } from "../i18n/locales";
import type { Channel, NotificationType } from "./catalogue";

export type TemplateText = { title: string; body: string };
type PerChannel = Record<Channel, TemplateText>;

const same = (t: TemplateText): PerChannel => ({ push: t, in_app: t });

export const SHIPPED_TEMPLATES: Record<Locale, Record<NotificationType, PerChannel>> = {
  en: {
    announcement: {
      push: { title: "{{building}}: new announcement", body: "{{title}}" },
      in_app: { title: "New announcement in {{building}}", body: "{{title}}" },
    },
    "maintenance.status": same({
      title: "Request update",
      body: "Your request {{title}} is now {{status}}.",
    }),
    "maintenance.comment": same({ title: "New comment on {{title}}", body: "{{excerpt}}" }),
    "payment.due": same({
      title: "Payment due",
      body: "Apartment {{apartment}}: {{amount}} is due on {{dueDate}}.",
    }),
    "payment.recorded": same({
      title: "Payment received",
      body: "A payment of {{amount}} was recorded for apartment {{apartment}}.",
    }),
    invitation: same({
      title: "You are invited to {{building}}",
      body: "You were invited to join {{building}} as {{role}}.",
    }),
    "sync.conflict": same({
      title: "Your change was not kept",
      body: "{{field}} was changed elsewhere at the same time. Yours: {{theirs}}. Kept: {{winner}}.",
    }),
    alert: same({ title: "Platform alert: {{title}}", body: "{{detail}}" }),
  },
  he: {
    announcement: {
      push: { title: "{{building}}: הודעה חדשה", body: "{{title}}" },
      in_app: { title: "הודעה חדשה בבניין {{building}}", body: "{{title}}" },
    },
    "maintenance.status": same({ title: "עדכון לקריאת שירות", body: "הקריאה שלך {{title}} כעת {{status}}." }),
    "maintenance.comment": same({ title: "תגובה חדשה לקריאה {{title}}", body: "{{excerpt}}" }),
    "payment.due": same({
      title: "תזכורת תשלום",
      body: "דירה {{apartment}}: סכום של {{amount}} לתשלום עד {{dueDate}}.",
    }),
    "payment.recorded": same({
      title: "התקבל תשלום",
      body: "נרשם תשלום של {{amount}} עבור דירה {{apartment}}.",
    }),
    invitation: same({
      title: "הוזמנת לבניין {{building}}",
      body: "הוזמנת להצטרף לבניין {{building}} בתור {{role}}.",
    }),
    "sync.conflict": same({
      title: "השינוי שלך לא נשמר",
      body: "השדה {{field}} שונה במקביל במקום אחר. הערך שלך: {{theirs}}. הערך שנשמר: {{winner}}.",
    }),
    alert: same({ title: "התראת מערכת: {{title}}", body: "{{detail}}" }),
  },
};

export const templateKey = (type: NotificationType, channel: Channel, part: "title" | "body") =>
  `${type}.${channel}.${part}`;

/** The shipped texts as flat catalogue resources of one locale. */
export function templateResources(locale: Locale): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [type, channels] of Object.entries(SHIPPED_TEMPLATES[locale]) as Array<
    [NotificationType, PerChannel]
  >) {
    for (const [channel, text] of Object.entries(channels) as Array<[Channel, TemplateText]>) {
      out[templateKey(type, channel, "title")] = text.title;
      out[templateKey(type, channel, "body")] = text.body;
    }
  }
  return out;
}

for (const locale of Object.keys(SHIPPED_TEMPLATES) as Locale[]) {
  addCatalogResources(locale, "notifications", templateResources(locale));
}
