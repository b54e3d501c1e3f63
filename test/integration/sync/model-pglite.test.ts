import { defineModelSuite } from "./model";

defineModelSuite("pglite");
