// Plain JavaScript on purpose: it must run, and explain itself, on the old Node it rejects.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  console.error(
    [
      `This project needs Node.js >= 22.13 (Hardhat 3); this is Node ${process.versions.node}.`,
      "Get Node 24 from the npm registry in a few seconds, then reinstall with it:",
      "  npm i -g --prefix ~/.node24 node@24 && export PATH=~/.node24/bin:$PATH",
      "  rm -rf node_modules && npm ci",
    ].join("\n"),
  );
  process.exit(1);
}
