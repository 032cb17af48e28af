// Who handles a conversation (the AI or people), live: the open chat's handler bar redraws on `ai:state`,
// and a handoff shows a notification on every open page (`ai:handoff`). Its own Socket.IO connection.
(() => {
  "use strict";
  if (typeof io !== "function") return;
  const socket = io({ reconnectionDelay: 500, reconnectionDelayMax: 2000 });

  const refreshHandler = (waId) => {
    const bar = document.getElementById("ai-handler");
    if (bar && bar.dataset.waId === waId && window.htmx) window.htmx.trigger(bar, "ai-state");
  };

  const notices = () => {
    let box = document.getElementById("ai-notices");
    if (!box) {
      box = document.createElement("div");
      box.id = "ai-notices";
      box.className = "ai-notices";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "assertive");
      document.body.appendChild(box);
    }
    return box;
  };

  socket.on("ai:state", (update) => refreshHandler(update.wa_id));
  socket.on("ai:handoff", (update) => {
    refreshHandler(update.wa_id);
    const note = document.createElement("p");
    note.className = "ai-notice";
    note.dataset.waId = update.wa_id;
    note.textContent = update.text;
    notices().appendChild(note);
    setTimeout(() => note.remove(), 15000);
  });
})();
