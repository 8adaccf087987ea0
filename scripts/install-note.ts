// After `npm install`: npm's own engine warnings are silenced (.npmrc), so this says once, plainly,
// what they would have said and why it is fine. npm may run on an older Node than the project's
// (Node 20 on a stock machine); every npm script runs the Node pinned in devDependencies, which
// npm has just installed into node_modules/.bin and which is running this file.
const npmNode = /\bnode\/v(\d+)\.[\d.]+/.exec(process.env.npm_config_user_agent ?? "");
const npmMajor = npmNode ? Number(npmNode[1]) : undefined;
if (npmMajor !== undefined && npmMajor < 22) {
  console.log(
    `flotilla: npm ran on Node ${npmNode?.[0].slice(5)}; Flotilla and several of its tools need Node 22 or newer, ` +
      `so npm's engine warnings were silenced. Every npm script (npm start, npm test, npm run ...) uses the ` +
      `Node ${process.version} installed in node_modules/.bin, so nothing more is needed.`,
  );
}
