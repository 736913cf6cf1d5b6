import { releaseZk } from "../../src/zk/index.js";

// snarkjs keeps the bn128 curve and its worker threads in a global once a proof is made or verified; they keep
// the process alive after the last test. A root-level hook (this module is imported by every zk test file and
// evaluated once) stops them when the whole run ends.
after(async () => {
  await releaseZk();
});
