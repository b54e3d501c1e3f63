/**
 * What the Worker bundle gets for `import … from "zod"` (wrangler.toml `[alias]`; the Node and Bun
 * hosts and the tests use zod itself).
 *
 * Why: zod's `z` namespace re-exports `locales`, the messages of 64 languages (~370 KiB of the
 * bundle). @hono/zod-openapi hands `z` itself to `extendZodWithOpenApi(z)`, so esbuild must keep
 * every member of the namespace, and no import style of ours can shake the locales out. This
 * module is zod's entry (node_modules/zod/index.js) over a copy of its `external` module without
 * `locales`: the same schema classes from the same files (one zod instance in the bundle), English
 * messages (zod registers `en` itself on the first schema), the other languages left out — the
 * API localizes its problem titles itself (src/modules/i18n), not zod's issue messages.
 */
import * as z from "./external";

export * from "./external";
export { z, z as default };
