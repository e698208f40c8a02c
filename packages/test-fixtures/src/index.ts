export { buildFixtures } from "./build.ts";
export type { BuildResult } from "./build.ts";
export { buildTestImages, busyboxImageRef, ensureFixtures, fixturesImageRef } from "./images.ts";
export type { ImageRef, TestImages } from "./images.ts";
export { ociArchitecture, refTag, writeOciImage } from "./oci-image.ts";
export type { ImageFile, ImageSpec } from "./oci-image.ts";
export { fixtureNames, fixturePath, negativeFixtureFiles, wasmDir } from "./paths.ts";
export type { FixtureName } from "./paths.ts";
export { tarArchive } from "./tar.ts";
export type { TarEntry } from "./tar.ts";
export { buildPrograms, programNames, programPath, programsDir, programsOutDir } from "./programs.ts";
export { buildComponents } from "./components.ts";
export {
  buildCorpusImages,
  corpusDataFiles,
  corpusImageRefs,
  corpusModule,
  corpusPrograms,
  corpusWorkdir,
  layOutCorpusRoot,
  programInImage,
  yosysModule,
} from "./corpus.ts";
export type { CorpusImage, CorpusProgram } from "./corpus.ts";
export { descriptor, encodeManifest, filesystemLayer, sha256, writeOciLayout } from "./oci-image.ts";
export type { Blob, ImageLayout } from "./oci-image.ts";
export { WASM_MEDIA_TYPES, wasmArtifactLayout, writeWasmArtifact } from "./oci-artifact.ts";
export type { WasmArtifactSpec, WasmLayerSpec } from "./oci-artifact.ts";
