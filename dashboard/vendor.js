// Copy the front-end libraries the API serves into api/static/vendor (committed: no npm or CDN at run time).
const fs = require('fs');
const path = require('path');
const out = path.join(__dirname, '..', 'api', 'static', 'vendor');
const files = {
  'cytoscape/dist/cytoscape.min.js': 'cytoscape.min.js',
  'swagger-ui-dist/swagger-ui-bundle.js': 'swagger-ui-bundle.js',
  'swagger-ui-dist/swagger-ui.css': 'swagger-ui.css',
  'swagger-ui-dist/favicon-32x32.png': 'favicon-32x32.png',
  'swagger-ui-dist/LICENSE': 'swagger-ui.LICENSE',
};
// Files a package does not export are read straight from node_modules.
const resolve = (src) => {
  try { return require.resolve(src); } catch { return path.join(__dirname, 'node_modules', src); }
};
files['cytoscape/LICENSE'] = 'cytoscape.LICENSE';
for (const [src, dst] of Object.entries(files)) {
  fs.copyFileSync(resolve(src), path.join(out, dst));
  console.log(`vendored ${src} -> api/static/vendor/${dst}`);
}
