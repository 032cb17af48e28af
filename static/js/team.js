// Working together, on the inbox page: the list filters and their counts, the chat's status and
// assignee, internal notes, canned replies (`/shortcut` in the composer), presence (who else is
// here, who is typing), drafts kept on the server, and the contact panel. It uses the live
// connection and helpers static/js/inbox.js shares as window.inbox; every piece of HTML it inserts
// was rendered by the server's partials, anything else goes in with textContent.
(() => {
  "use strict";

  const inbox = window.inbox;
  if (!inbox) return;
  const { socket, csrfToken } = inbox;
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const list = () => $("#conversation-list");
  const me = () => list()?.dataset.agentEmail || "";
  const openWaId = () => inbox.openChat()?.dataset.chatWaId || null;
  const requester = (event) => event.detail.requestConfig?.elt || event.detail.elt;

  // --- the list filters: Mine, Unassigned, All, Unread, Resolved -------------------------------

  function matches(row, filter) {
    const status = row.dataset.status || "open";
    const assignee = row.dataset.assignee || "";
    switch (filter) {
      case "mine": return assignee !== "" && assignee === me() && status !== "resolved";
      case "unassigned": return !assignee && status !== "resolved";
      case "unread": return Number(row.dataset.unread || 0) > 0;
      case "resolved": return status === "resolved";
      default: return true;
    }
  }

  function showFilter(filter) {
    const rows = list();
    if (!rows) return;
    rows.dataset.filter = filter;
    const field = $("#list-filter");
    if (field) field.value = filter;
    for (const button of $$(".list-filter[data-filter]")) button.setAttribute("aria-pressed", String(button.dataset.filter === filter));
    const query = $("#search")?.value.trim() || "";
    htmx.ajax("GET", `${rows.dataset.listUrl}?q=${encodeURIComponent(query)}&filter=${encodeURIComponent(filter)}`,
      { target: rows, swap: "innerHTML" });
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest?.(".list-filter[data-filter]");
    if (button) showFilter(button.dataset.filter);
  });

  // A row pushed by inbox.js that this filter does not show leaves the list.
  socket.on("conversation:update", (conversation) => {
    const rows = list();
    const row = rows && $(`[data-wa-id="${CSS.escape(conversation.wa_id)}"]`, rows);
    if (row && !matches(row, rows.dataset.filter || "all")) row.remove();
  });

  function showCounts(counts) {
    for (const badge of $$("[data-count]")) {
      const n = counts[badge.dataset.count];
      if (n !== undefined) badge.textContent = String(Math.max(0, n));
    }
  }

  socket.on("team:counts", (update) => showCounts({ ...update.counts, mine: update.mine?.[me()] || 0 }));

  function fetchCounts() {
    fetch("/api/conversations/counts", { headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : null))
      .then((body) => body && showCounts(body.data))
      .catch(() => {});
  }

  // --- the chat's status and assignee: pushed to every page that has the chat open -----------

  socket.on("conversation:state", (update) => {
    const state = $("#chat-state");
    if (!state || state.dataset.waId !== update.wa_id || !update.html) return;
    const next = inbox.fromHTML(update.html);
    state.replaceWith(next);
    htmx.process(next);
  });

  // --- internal notes: agents only, never sent ----------------------------------------------

  function toggleNote(show) {
    const form = $("#note-form");
    const toggle = $("[data-toggle-note]");
    if (!form) return;
    form.hidden = !show;
    toggle?.setAttribute("aria-expanded", String(show));
    if (show) $("#note-text")?.focus();
  }

  document.addEventListener("click", (event) => {
    if (event.target.closest?.("[data-toggle-note]")) toggleNote($("#note-form")?.hidden);
  });

  document.addEventListener("htmx:beforeRequest", (event) => {
    if (requester(event)?.id === "note-form") $("#note-error").textContent = "";
  });

  document.addEventListener("htmx:afterRequest", (event) => {
    const form = requester(event);
    if (form?.id !== "note-form") return;
    const status = event.detail.xhr?.status || 0;
    if (!status) $("#note-error").textContent = "Not saved: the server cannot be reached.";
    if (status < 200 || status >= 300) return;
    inbox.insertMessage(event.detail.xhr.responseText); // unless the push brought it first
    form.reset();
    toggleNote(false);
    $("#composer-text")?.focus();
  });

  socket.on("note:new", (note) => {
    if (openWaId() === note.wa_id) inbox.insertMessage(note.html);
  });

  // --- canned replies: "/" in the composer lists them, Enter, Tab or a click inserts one -----

  let canned = null;
  let menu = null;
  let choices = [];
  let active = 0;

  async function cannedReplies() {
    if (canned) return canned;
    try {
      const response = await fetch("/api/canned-replies", { headers: { Accept: "application/json" } });
      canned = response.ok ? (await response.json()).data : [];
    } catch {
      return [];
    }
    return canned;
  }

  function closeMenu() {
    menu?.remove();
    menu = null;
    choices = [];
    const box = $("#composer-text");
    box?.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    if (!menu) return;
    active = (index + choices.length) % choices.length;
    $$("[role=option]", menu).forEach((option, i) => option.setAttribute("aria-selected", String(i === active)));
    $("#composer-text")?.setAttribute("aria-activedescendant", `canned-option-${active}`);
  }

  function insertCanned(reply) {
    const box = $("#composer-text");
    closeMenu();
    if (!box || !reply) return;
    box.value = reply.text;
    box.dispatchEvent(new Event("input", { bubbles: true })); // kept as the draft, and "typing…"
    box.focus();
  }

  async function updateMenu(box) {
    const typed = /^\/([a-z0-9_-]*)$/i.exec(box.value);
    if (!typed) return closeMenu();
    const prefix = typed[1].toLowerCase();
    const replies = await cannedReplies();
    if (box.value !== `/${typed[1]}`) return; // typed on meanwhile
    choices = replies.filter((reply) => reply.shortcut.startsWith(prefix));
    if (!choices.length) return closeMenu();
    if (!menu) {
      menu = document.createElement("ul");
      menu.id = "canned-menu";
      menu.className = "canned-menu";
      menu.setAttribute("role", "listbox");
      menu.setAttribute("aria-label", "Canned replies");
      box.form.before(menu);
      box.setAttribute("aria-controls", "canned-menu");
    }
    menu.replaceChildren(...choices.map((reply, i) => {
      const option = document.createElement("li");
      option.id = `canned-option-${i}`;
      option.setAttribute("role", "option");
      option.dataset.shortcut = reply.shortcut;
      const shortcut = document.createElement("span");
      shortcut.className = "canned-shortcut";
      shortcut.textContent = `/${reply.shortcut}`;
      const text = document.createElement("span");
      text.className = "canned-text";
      text.textContent = reply.text;
      option.append(shortcut, text);
      return option;
    }));
    highlight(0);
  }

  document.addEventListener("input", (event) => {
    if (event.target?.id === "composer-text") updateMenu(event.target);
  });

  // Capture: before inbox.js's Enter-sends, so Enter picks the reply instead.
  document.addEventListener("keydown", (event) => {
    if (!menu || event.target?.id !== "composer-text") return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      highlight(active + (event.key === "ArrowDown" ? 1 : -1));
    } else if ((event.key === "Enter" && !event.shiftKey) || event.key === "Tab") {
      event.preventDefault();
      event.stopPropagation();
      insertCanned(choices[active]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      closeMenu();
    }
  }, true);

  document.addEventListener("mousedown", (event) => {
    if (event.target.closest?.("#canned-menu")) event.preventDefault(); // the composer keeps the focus
  });

  document.addEventListener("click", (event) => {
    const option = event.target.closest?.("#canned-menu [role=option]");
    if (option) insertCanned(choices.find((reply) => reply.shortcut === option.dataset.shortcut));
    else if (menu && !event.target.closest?.("#composer")) closeMenu();
  });

  // --- presence: who else has this chat open, who is typing in it -----------------------------

  const TYPING_SHOWN_FOR = 4000; // ms after the last "typing" heard
  let joined = null;
  let viewers = [];
  const typing = new Map(); // email -> { name, timer }

  function showPresence() {
    const line = $("#presence");
    if (!line) return;
    const typers = [...typing.values()].map((t) => t.name);
    if (typers.length) {
      line.textContent = `${typers.join(", ")} ${typers.length > 1 ? "are" : "is"} typing…`;
      return;
    }
    const others = viewers.filter((v) => v.email !== me()).map((v) => v.name);
    line.textContent = others.length ? `Also here: ${others.join(", ")}` : "";
  }

  function join() {
    joined = openWaId();
    viewers = [];
    typing.forEach((t) => clearTimeout(t.timer));
    typing.clear();
    socket.emit("presence:join", { wa_id: joined });
    showPresence();
  }

  socket.on("presence:update", (update) => {
    if (update.wa_id !== joined) return;
    viewers = update.viewers || [];
    showPresence();
  });

  socket.on("presence:typing", (update) => {
    if (update.wa_id !== joined || update.email === me()) return;
    clearTimeout(typing.get(update.email)?.timer);
    const timer = setTimeout(() => { typing.delete(update.email); showPresence(); }, TYPING_SHOWN_FOR);
    typing.set(update.email, { name: update.name, timer });
    showPresence();
  });

  let typedAt = 0;
  document.addEventListener("input", (event) => {
    if (event.target?.id !== "composer-text" || !joined || !event.target.value) return;
    if (Date.now() - typedAt < 1500) return;
    typedAt = Date.now();
    socket.emit("presence:typing", { wa_id: joined });
  });

  let connectedBefore = socket.connected;
  socket.on("connect", () => {
    join(); // a new connection is in no room yet
    if (connectedBefore) fetchCounts();
    connectedBefore = true;
  });
  if (socket.connected) join();

  // --- drafts: kept on the server per agent and chat, saved as the agent types ---------------

  const drafts = new Map(); // wa_id -> the text typed on this page (newer than the server's)
  let saveLater = null;
  let saveTimer = null;

  function saveDraft(url, text) {
    return fetch(url, {
      method: "PUT", keepalive: true, body: new URLSearchParams({ text }),
      headers: { "X-CSRFToken": csrfToken, "Content-Type": "application/x-www-form-urlencoded" },
    }).catch(() => {});
  }

  function flushDraft() {
    clearTimeout(saveTimer);
    saveLater?.();
    saveLater = null;
  }

  document.addEventListener("input", (event) => {
    const info = $("#draft-text");
    if (event.target?.id !== "composer-text" || !info) return;
    const { waId, draftUrl } = info.dataset;
    const text = event.target.value;
    drafts.set(waId, text);
    clearTimeout(saveTimer);
    saveLater = () => saveDraft(draftUrl, text);
    saveTimer = setTimeout(flushDraft, 600);
  });

  function fillDraft() {
    const info = $("#draft-text");
    const box = $("#composer-text");
    if (!info || !box || box.value) return;
    const waId = info.dataset.waId;
    box.value = drafts.has(waId) ? drafts.get(waId) : info.dataset.draft || "";
  }

  document.addEventListener("htmx:beforeRequest", (event) => {
    if (event.detail.target?.id === "chat") flushDraft(); // leaving the chat: save now
    if (requester(event)?.id === "composer") { // sent: the server forgets the draft too
      clearTimeout(saveTimer);
      saveLater = null;
      const info = $("#draft-text");
      if (info) drafts.set(info.dataset.waId, "");
    }
  });
  window.addEventListener("pagehide", flushDraft);

  // --- the contact panel --------------------------------------------------------------------------

  function closeContact() {
    const panel = $("#contact-panel");
    if (panel) { panel.hidden = true; panel.replaceChildren(); }
    $("[data-toggle-contact]")?.setAttribute("aria-expanded", "false");
  }

  document.addEventListener("click", (event) => {
    if (event.target.closest?.("[data-close-contact]")) return closeContact();
    const toggle = event.target.closest?.("[data-toggle-contact]");
    const panel = $("#contact-panel");
    if (!toggle || !panel) return;
    if (!panel.hidden) return closeContact();
    toggle.setAttribute("aria-expanded", "true");
    htmx.ajax("GET", toggle.dataset.contactUrl, { target: panel, swap: "innerHTML" }).then(() => {
      panel.hidden = false;
      inbox.refresh();
    });
  });

  // --- another chat opened (or history restored) ------------------------------------------------

  const chatChanged = () => {
    closeMenu();
    fillDraft();
    if (openWaId() !== joined) join();
  };
  document.addEventListener("htmx:afterSettle", (event) => {
    if (event.detail.target?.id === "chat" || event.detail.target?.id === "app") chatChanged();
  });
  document.addEventListener("htmx:historyRestore", chatChanged);

  fillDraft();
})();
