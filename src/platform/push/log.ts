/**
 * The embedded default provider: nothing configured, nothing leaves the process. Each send is one
 * log line (device id, provider it stands in for, title), so a developer sees what would have been
 * pushed. Edge-safe.
 */
import type { Logger } from "../log";
import type { PushDevice, PushMessage, PushProvider } from "./index";

export function createLogPushProvider(logger: Logger): PushProvider {
  return {
    name: "log",
    async send(device: PushDevice, message: PushMessage) {
      const messageId = `log-${crypto.randomUUID()}`;
      logger.info(
        {
          event: "push_logged",
          messageId,
          deviceId: device.id,
          provider: device.provider,
          silent: message.silent ?? false,
          urgent: message.urgent,
          title: message.silent ? undefined : message.title,
          dataKeys: Object.keys(message.data),
        },
        "push (log provider)",
      );
      return { messageId };
    },
  };
}
