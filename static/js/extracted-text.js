// The text read from a received image or PDF (webapp/ocr): its "Copy text" button, on the inbox and the
// Documents page (bubbles come and go: one listener on the document).
(() => {
  "use strict";
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-copy-extract]");
    if (!button) return;
    const text = button.closest(".extract")?.querySelector("[data-extract-text]")?.textContent || "";
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Could not copy: select the text";
    }
    setTimeout(() => { button.textContent = "Copy text"; }, 2000);
  });
})();
