/**
 * Registers the files module's Node-only outbox handler (`files.uploaded`: sniff, clamd, sharp).
 * Imported by workers/node-handlers.ts only, so the Worker bundle never carries sharp or node:net.
 */
import { registerFileProcessing } from "./processing";

registerFileProcessing();
