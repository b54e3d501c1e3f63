/**
 * The client protocol version: what the SDK sends on every request (header `Horizon-Protocol`),
 * so the server can refuse an app too old to sync safely instead of corrupting data (mobile apps
 * cannot be force-upgraded). Bump PROTOCOL_VERSION when the SDK's wire behaviour changes; raise
 * MIN_PROTOCOL_VERSION when the server can no longer serve older clients safely.
 *   1  op ids `<deviceId>:<seq>` (a reinstall restarted seq and could reuse recorded ids)
 *   2  op ids `<streamId>:<seq>` from a random stream per store (issue 20 hardening), one base URL
 */
export const PROTOCOL_HEADER = "Horizon-Protocol";
export const PROTOCOL_VERSION = 2;
export const MIN_PROTOCOL_VERSION = 2;
