/** pino adapter (Bun and Node): same field names as the JSON adapter; correlation id via mixin. */
import pino, { type DestinationStream } from "pino";
import type { LogLevel } from "../../config";
import { currentContext } from "../../context";
import type { Logger } from "./index";

export function createPinoLogger(options: { level: LogLevel; destination?: DestinationStream }): Logger {
  const logger = pino(
    {
      level: options.level,
      base: undefined,
      messageKey: "msg",
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
      mixin() {
        const ctx = currentContext();
        return ctx ? { correlationId: ctx.correlationId } : {};
      },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
  return logger as unknown as Logger;
}
