/** Bundle: the Worker bundle's size (gzip against its budget) and its largest packages. */
import { buildEdgeBundle, EDGE_GZIP_BUDGET_KIB, forbiddenIn, zodLocalesIn } from "../support/edge-bundle";
import type { Figure } from "./figures";

export async function benchBundle(): Promise<Figure[]> {
  const b = await buildEdgeBundle();
  const top = [...b.bytesByPackage]
    .sort((x, y) => y[1] - x[1])
    .slice(0, 8)
    .map(([k, v]) => `${k} ${Math.round(v / 1024)}`)
    .join(", ");
  const forbidden = forbiddenIn(b);
  const locales = zodLocalesIn(b);
  return [
    {
      id: "Bundle",
      name: "Worker bundle, gzip",
      value: b.gzipKiB,
      unit: "KiB",
      max: EDGE_GZIP_BUDGET_KIB,
      note: `raw ${b.totalKiB} KiB; largest (KiB raw): ${top}`,
    },
    {
      id: "Bundle",
      name: "Node-only adapters in the Worker",
      value: forbidden.length,
      unit: "",
      max: 0,
      note: forbidden.join(", ") || "none",
    },
    {
      id: "Bundle",
      name: "zod locales besides en in the Worker",
      value: locales.length,
      unit: "files",
      max: 0,
      note: locales.length
        ? locales.slice(0, 3).join(", ")
        : "none (workers/edge-zod, the [alias] of wrangler.toml)",
    },
  ];
}
