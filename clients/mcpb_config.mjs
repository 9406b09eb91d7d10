// Prints the command a desktop app runs for an unpacked MCP Bundle, resolved the way Claude
// Desktop resolves it: with @anthropic-ai/mcpb's own getMcpConfigForManifest (the code the
// app uses), so ${__dirname} and ${user_config.*} are substituted exactly as there.
//
// usage: node mcpb_config.mjs DIR USER_CONFIG_JSON
// prints {command, args, env} as JSON, or null when a required user_config field is missing
// (the app then does not start the server).
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve, sep } from "node:path";

import { getMcpConfigForManifest } from "@anthropic-ai/mcpb";

const [dir, userConfig] = process.argv.slice(2);
if (!dir || userConfig === undefined) {
  console.error("usage: node mcpb_config.mjs DIR USER_CONFIG_JSON");
  process.exit(2);
}
const extensionPath = resolve(dir);
const manifest = JSON.parse(readFileSync(join(extensionPath, "manifest.json"), "utf8"));
const home = homedir();
const config = await getMcpConfigForManifest({
  manifest,
  extensionPath,
  systemDirs: { HOME: home, DESKTOP: join(home, "Desktop"), DOCUMENTS: join(home, "Documents"), DOWNLOADS: join(home, "Downloads") },
  userConfig: JSON.parse(userConfig),
  pathSeparator: sep,
  // Its warnings go to stderr: stdout is the answer.
  logger: { log: (...a) => console.error(...a), warn: (...a) => console.error(...a), error: (...a) => console.error(...a) },
});
console.log(JSON.stringify(config ?? null));
