// A module spawn(moduleUrl) runs: its default export gets the spawn args (here a Mutex<i32>).
export default function (mutex) {
  mutex.with((guard) => { guard.value = 5; });
  return "module ran";
}
