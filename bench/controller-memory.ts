/**
 * Loaded into the cluster's processes by the soak (`PARALLAX_NODE_ARGS="--import …"`): in the
 * controller only, writes its `process.memoryUsage()` to the file named by
 * `PARALLAX_SOAK_MEMORY_FILE` twice a second, so the soak can report the JavaScript heap, external
 * and ArrayBuffer memory beside the RSS it reads from /proc. Other processes load it and do nothing.
 */
import fs from "node:fs";

const file = process.env.PARALLAX_SOAK_MEMORY_FILE;
const isController = process.argv.some((arg) => /controller[\\/]main\.[jt]s$/.test(arg));

if (file && isController) {
  const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);
  setInterval(() => {
    const memory = process.memoryUsage();
    const sample = {
      heapUsedMiB: mib(memory.heapUsed),
      heapTotalMiB: mib(memory.heapTotal),
      externalMiB: mib(memory.external),
      arrayBuffersMiB: mib(memory.arrayBuffers),
    };
    // A temporary file renamed over the last: the soak never reads half a sample.
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(sample));
    fs.renameSync(`${file}.tmp`, file);
  }, 500).unref();
}
