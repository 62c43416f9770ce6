// Quick exit: the button or Escape pressed twice leaves at once, leaving nothing behind on the page.

const EXIT_URL = document.querySelector('meta[name="stopframe-exit"]')?.content || "/static/leave.html";
const DOUBLE_PRESS_MS = 1500;

/** Leave now: run `cleanup` (forget state, stop workers, revoke previews), blank the page and
 * replace this history entry with the host's neutral page. */
export function quickExit(cleanup) {
  try {
    cleanup();
  } finally {
    document.body.replaceChildren();
    document.title = "";
    window.location.replace(EXIT_URL);
  }
}

/** Wire the quick-exit `button` and the double Escape to `quickExit(cleanup)`. */
export function installQuickExit(button, cleanup) {
  let lastEscape = -Infinity;
  button.addEventListener("click", () => quickExit(cleanup));
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const now = event.timeStamp;
    if (now - lastEscape < DOUBLE_PRESS_MS) quickExit(cleanup);
    lastEscape = now;
  });
}
