// The independent reference for tests/test_tfjs.py: TF.js's own CPU backend (pure JS) runs a graph model.
// Usage: node tfjs_reference.js MODEL_JSON INPUT_F32 N,H,W,C OUT_DIR NODE [NODE ...]
// INPUT_F32 holds the NHWC input as little-endian float32; OUT_DIR receives NODE i as i.f32 and shapes.json.
// Needs @tensorflow/tfjs-core, -backend-cpu and -converter on NODE_PATH (scripts/install_tfjs_reference.sh).
"use strict";
const fs = require("fs");
const path = require("path");
const tf = require("@tensorflow/tfjs-core");
require("@tensorflow/tfjs-backend-cpu");
const converter = require("@tensorflow/tfjs-converter");

function fileHandler(modelJson) {
  // An IOHandler that reads model.json and its shards from disk (TF.js ships none for plain Node).
  return {
    load: async () => {
      const model = JSON.parse(fs.readFileSync(modelJson, "utf8"));
      const specs = [];
      const buffers = [];
      for (const group of model.weightsManifest) {
        specs.push(...group.weights);
        for (const shard of group.paths) buffers.push(fs.readFileSync(path.join(path.dirname(modelJson), shard)));
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: model.modelTopology,
        format: model.format,
        generatedBy: model.generatedBy,
        convertedBy: model.convertedBy,
        signature: model.signature,
        userDefinedMetadata: model.userDefinedMetadata,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}

async function main() {
  const [modelJson, inputFile, shapeText, outDir, ...nodes] = process.argv.slice(2);
  await tf.setBackend("cpu");
  const model = await converter.loadGraphModel(fileHandler(modelJson));
  const raw = fs.readFileSync(inputFile);
  const values = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const input = tf.tensor(values, shapeText.split(",").map(Number), "float32");
  let outputs = model.execute(input, nodes);
  if (!Array.isArray(outputs)) outputs = [outputs];
  const shapes = [];
  for (let i = 0; i < outputs.length; i++) {
    const data = await outputs[i].data();
    fs.writeFileSync(path.join(outDir, `${i}.f32`), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    shapes.push(outputs[i].shape);
  }
  fs.writeFileSync(path.join(outDir, "shapes.json"), JSON.stringify({ backend: tf.getBackend(), version: tf.version_core, shapes }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
