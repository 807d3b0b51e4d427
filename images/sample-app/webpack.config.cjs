// Bundles the browser side (compiled by tsc into build/client/) into dist/app.js, minified by
// terser: the CPU-heavy half of `npm run build`.
const path = require("node:path");

module.exports = {
  mode: "production",
  target: "web",
  entry: "./build/client/main.js",
  output: {
    path: path.resolve(__dirname, "dist"),
    filename: "app.js",
    clean: true,
  },
  devtool: "source-map",
  performance: { hints: false },
  stats: "normal",
};
