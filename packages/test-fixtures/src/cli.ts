import { resolve } from "node:path";
import { buildFixtures } from "./build.ts";
import { buildCorpusImages } from "./corpus.ts";
import { buildTestImages } from "./images.ts";

const usage = "usage: cli.ts build | images <outDir> | corpus-images <outDir>";
const [command, outDir] = process.argv.slice(2);

if (command === "build") {
  console.log(JSON.stringify(await buildFixtures(), null, 2));
} else if (command === "images" && outDir) {
  console.log(JSON.stringify(await buildTestImages(resolve(outDir)), null, 2));
} else if (command === "corpus-images" && outDir) {
  console.log(JSON.stringify(await buildCorpusImages(resolve(outDir)), null, 2));
} else {
  console.error(usage);
  process.exitCode = 2;
}
