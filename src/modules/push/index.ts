/**
 * Push delivery: the devices a user registers (push_devices), the Web Push key browsers subscribe
 * with, and (Node hosts, ./handlers.ts) the sender of `notifications.push` events with its
 * per-device delivery log (push_deliveries). What to send to whom is decided by the notifications
 * module; this one only gets it to the devices.
 */
import type { App } from "../../http/env";
import "./sync-pokes";
import { registerDeleteDevice } from "./routes/delete-device";
import { registerListDevices } from "./routes/list-devices";
import { registerRegisterDevice } from "./routes/register-device";
import { registerVapidPublicKey } from "./routes/vapid-public-key";

export function registerPush(app: App): void {
  registerRegisterDevice(app);
  registerListDevices(app);
  registerDeleteDevice(app);
  registerVapidPublicKey(app);
}
