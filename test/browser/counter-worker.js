// A raw Web Worker that receives a shared counter and adds 1000 to it under its lock, then posts "done".
import { receive } from "../../dist/browser/index.js";

self.onmessage = (event) => {
  const { counter } = receive(event.data);
  for (let i = 0; i < 1000; i++) counter.with((num) => { num.value += 1; });
  postMessage("done");
};
