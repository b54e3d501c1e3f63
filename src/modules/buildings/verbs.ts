/** The buildings area's verbs (framework-free), for routes, the sync engine and the seed. */
export * from "./apartment-verbs";
export * from "./building-verbs";
export * from "./member-verbs";
