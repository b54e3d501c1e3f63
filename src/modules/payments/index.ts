/**
 * Dues and payments per apartment, in minor units and ISO 4217 currencies. Every write is
 * audited in its own transaction; residents read their apartment's rows and balance only.
 */
import type { App } from "../../http/env";
import { registerApartmentBalance } from "./routes/apartment-balance";
import { registerDeletePayment } from "./routes/delete-payment";
import { registerGetPayment } from "./routes/get-payment";
import { registerListPayments } from "./routes/list-payments";
import { registerRecordPayment } from "./routes/record-payment";
import { registerUpdatePayment } from "./routes/update-payment";

export function registerPayments(app: App): void {
  registerRecordPayment(app);
  registerListPayments(app);
  registerGetPayment(app);
  registerUpdatePayment(app);
  registerDeletePayment(app);
  registerApartmentBalance(app);
}
