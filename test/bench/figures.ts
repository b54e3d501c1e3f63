/**
 * The one table of `npm run bench`: every section (test/bench/run.ts) returns figures, each with
 * its budget from ARCHITECTURE.md / the issues, and the runner prints them together. A new bench
 * is a section that returns `Figure[]`; it never prints the verdicts itself.
 */
export interface Figure {
  /** Short id of the budget line (H2, R1, ...), when the figure has one. */
  id?: string;
  name: string;
  /** null: not measured (the note says why); counts as a miss when the figure has a budget. */
  value: number | null;
  unit: "ratio" | "ms" | "s" | "µs" | "KiB" | "MiB" | "req/s" | "x" | string;
  /** Budget: the value must be at least `min` / at most `max`. */
  min?: number;
  max?: number;
  /** Spread of the rounds, conditions, what the figure compares. */
  note?: string;
}

export type Verdict = "ok" | "MISS" | "info" | "n/a";

export function verdictOf(f: Figure): Verdict {
  if (f.min === undefined && f.max === undefined) return f.value === null ? "n/a" : "info";
  if (f.value === null) return "MISS";
  if (f.min !== undefined && f.value < f.min) return "MISS";
  if (f.max !== undefined && f.value > f.max) return "MISS";
  return "ok";
}

function formatValue(f: Figure): string {
  if (f.value === null) return "-";
  if (f.unit === "ratio" || f.unit === "x") return f.value.toFixed(2);
  const digits = Math.abs(f.value) >= 100 ? 0 : Math.abs(f.value) >= 10 ? 1 : 2;
  return f.value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function formatBudget(f: Figure): string {
  const parts: string[] = [];
  if (f.min !== undefined) parts.push(`≥ ${f.min}`);
  if (f.max !== undefined) parts.push(`≤ ${f.max}`);
  return parts.join(", ");
}

export function printFigureTable(rows: Array<{ section: string; figure: Figure }>): void {
  const cells = rows.map(({ section, figure: f }) => [
    f.id ?? "",
    `${f.name}`,
    formatValue(f),
    f.unit === "ratio" ? "" : f.unit,
    formatBudget(f),
    verdictOf(f),
    section,
    f.note ?? "",
  ]);
  const head = ["id", "figure", "value", "unit", "budget", "verdict", "section", "note"];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (i === 7 ? 0 : c[i]!.length))));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === 2 ? v.padStart(widths[i]!) : i === 7 ? v : v.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  console.log(`\n${line(head)}`);
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const c of cells) console.log(line(c));
}
