// A WASI 0.2 command written in JavaScript, built into a component by componentize-js
// (StarlingMonkey): the kind of component people publish.
export const run = {
  run() {
    console.log("hello from a JavaScript component");
  },
};
