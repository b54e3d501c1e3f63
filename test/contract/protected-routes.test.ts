/**
 * Every route of the app, enumerated from /openapi.json and the access each declared, against
 * the protected-route contract on PGlite and on the real PostgreSQL. A new route is covered the
 * moment it is registered; one registered without an access declaration fails the inventory.
 */
import { protectedRouteContract, protectedRoutesSuite } from "./protected-routes";

await protectedRoutesSuite();

// The opt-in form, as a route outside the module registry would use it.
protectedRouteContract("GET /me", { method: "GET", path: "/me", access: "user" }, ["pglite"]);
