import { defineModelSuite } from "./model";

defineModelSuite("pg");
