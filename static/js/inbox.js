// The inbox page's own script: local times, day separators, the composer's keys, and the live
// updates pushed over Socket.IO. Every piece of HTML it inserts was rendered by the server's
// partials; anything else goes in with textContent.
(() => {
  "use strict";

  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const openChat = () => $("#chat [data-chat-wa-id]");
  const messageList = () => $("#message-list");
  const findMessage = (id) => $(`#message-list [data-message-id="${CSS.escape(id)}"]`);
  const fromHTML = (html) => {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  };
  const timeOf = (element) => Date.parse($("time[datetime]", element)?.dateTime || element.dataset.last || "") || 0;

  // --- the session's CSRF token: on every htmx request and on our own fetch calls -------------

  const csrfToken = $('meta[name="csrf-token"]')?.content || "";
  document.addEventListener("htmx:configRequest", (event) => {
    event.detail.headers["X-CSRFToken"] = csrfToken;
  });

  // --- times: the viewer's own clock decides "today", "Yesterday" and the weekday -------------

  const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  const weekday = new Intl.DateTimeFormat(undefined, { weekday: "long" });
  const shortDate = new Intl.DateTimeFormat(undefined, { day: "2-digit", month: "2-digit", year: "numeric" });
  const longDate = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "long", year: "numeric" });
  const full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

  const midnight = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate());
  const daysAgo = (d, now) => Math.round((midnight(now) - midnight(d)) / 86400000);

  function dayName(d, now, today) {
    const days = daysAgo(d, now);
    if (days === 0) return today;
    if (days === 1) return "Yesterday";
    if (days > 1 && days < 7) return weekday.format(d);
    return today === "Today" ? longDate.format(d) : shortDate.format(d);
  }

  function localizeTimes(root = document) {
    const now = new Date();
    for (const time of $$("time[datetime]", root)) {
      const d = new Date(time.dateTime);
      if (Number.isNaN(d.getTime())) continue;
      time.textContent = time.classList.contains("smart") ? dayName(d, now, clock.format(d)) : clock.format(d);
      time.title = full.format(d);
    }
  }

  // Day separators and bubble tails depend on the neighbours, so they are laid out here.
  function layoutMessages() {
    const list = messageList();
    if (!list) return;
    $$(".day", list).forEach((separator) => separator.remove());
    const now = new Date();
    let lastDay = null;
    let lastDirection = null;
    for (const message of $$(".msg", list)) {
      const d = new Date(timeOf(message));
      const day = midnight(d).getTime();
      if (day !== lastDay) {
        const separator = document.createElement("div");
        separator.className = "day";
        separator.setAttribute("role", "separator");
        const label = document.createElement("span");
        label.textContent = dayName(d, now, "Today");
        separator.append(label);
        message.before(separator);
        lastDay = day;
        lastDirection = null;
      }
      message.classList.toggle("msg--first", message.dataset.direction !== lastDirection);
      lastDirection = message.dataset.direction;
    }
  }

  function refresh() {
    localizeTimes();
    layoutMessages();
    markActiveRow();
  }

  // --- the conversation list --------------------------------------------------------------------

  function markActiveRow() {
    const waId = openChat()?.dataset.chatWaId;
    for (const row of $$("#conversation-list [data-wa-id]")) {
      const link = $("a", row);
      if (row.dataset.waId === waId) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
  }

  function placeRow(html, waId) {
    const list = $("#conversation-list");
    if (!list || !html) return;
    const row = fromHTML(html);
    const old = $(`[data-wa-id="${CSS.escape(waId)}"]`, list);
    if (old && timeOf(old) > timeOf(row)) return; // an older state, overtaken
    if (!old && $("#search")?.value.trim()) return; // not among the search results shown
    old?.remove();
    $(".list-empty", list)?.remove();
    const next = $$("[data-wa-id]", list).find((other) => timeOf(other) <= timeOf(row));
    const more = $(".list-more", list);
    if (!next && more) return; // older than every row shown: it comes with the next page
    list.insertBefore(row, next || null);
    htmx.process(row);
    localizeTimes(row);
    markActiveRow();
  }

  // --- the open chat ------------------------------------------------------------------------------

  function insertMessage(html) {
    const list = messageList();
    const bubble = html && fromHTML(html);
    if (!list || !bubble || findMessage(bubble.dataset.messageId)) return;
    const at = timeOf(bubble);
    const later = $$(".msg[data-message-id]", list).filter((other) => timeOf(other) > at);
    if (later.length && later[0] === $(".msg[data-message-id]", list) && $(".older", list)) return; // in history not loaded yet
    const pending = $(".msg[data-pending]", list);
    if (later.length) later[0].before(bubble);
    else if (pending) pending.before(bubble);
    else list.append(bubble);
    htmx.process(bubble);
    refresh();
  }

  let readTimer = null;
  function markReadSoon() {
    const chat = openChat();
    if (!chat || document.visibilityState !== "visible") return;
    clearTimeout(readTimer);
    const read = () => fetch(chat.dataset.readUrl, {
      method: "POST", headers: { Accept: "application/json", "X-CSRFToken": csrfToken },
    });
    readTimer = setTimeout(() => read().catch(() => {}), 150); // if it fails, the next catch-up reads again
  }

  function catchUp() {
    const list = $("#conversation-list");
    if (list) {
      const query = $("#search")?.value.trim() || "";
      const filter = encodeURIComponent(list.dataset.filter || "all");
      htmx.ajax("GET", `${list.dataset.listUrl}?q=${encodeURIComponent(query)}&filter=${filter}`, { target: list, swap: "innerHTML" });
    }
    const chat = openChat();
    if (chat) {
      htmx.ajax("GET", chat.dataset.messagesUrl, { target: "#message-list", swap: "innerHTML" });
      markReadSoon();
    }
  }

  // --- the composer: Enter sends, Shift+Enter breaks the line; the bubble shows at once -------

  document.addEventListener("keydown", (event) => {
    const box = event.target;
    if (box.id !== "composer-text" || event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    if (box.value.trim()) box.form.requestSubmit();
  });

  // The form that sent the request (a swap event's own `elt` is the swap's target).
  const isComposer = (event) => (event.detail.requestConfig?.elt || event.detail.elt)?.id === "composer";
  const isAttachment = (event) => (event.detail.requestConfig?.elt || event.detail.elt)?.id === "composer-file";
  const pendingFor = new WeakMap(); // request → the bubble shown while it is on its way

  document.addEventListener("htmx:beforeRequest", (event) => {
    if (!isComposer(event)) return;
    const box = $("#composer-text");
    $("#composer-error").textContent = "";
    const template = $("#pending-bubble");
    if (!template || !box.value.trim()) return;
    const pending = template.content.firstElementChild.cloneNode(true);
    $(".text", pending).textContent = box.value;
    $("time", pending).dateTime = new Date().toISOString();
    pending.dataset.sending = box.value;
    pendingFor.set(event.detail.xhr, pending);
    messageList().append(pending);
    box.value = ""; // the request already holds the text
    refresh();
  });

  document.addEventListener("htmx:beforeSwap", (event) => {
    if (!(isComposer(event) || isAttachment(event)) || event.detail.xhr.status >= 300) return;
    const bubble = fromHTML(event.detail.serverResponse);
    if (bubble && findMessage(bubble.dataset.messageId)) event.detail.shouldSwap = false; // pushed first
  });

  document.addEventListener("htmx:afterRequest", (event) => {
    if (!isComposer(event)) return;
    const box = $("#composer-text");
    const pending = pendingFor.get(event.detail.xhr);
    const status = event.detail.xhr?.status || 0;
    if (status >= 300 || !status) {
      if (pending && !box.value) box.value = pending.dataset.sending; // to fix, or to send again
      if (!status) $("#composer-error").textContent = "Not sent: the server cannot be reached.";
    }
    pending?.remove();
    box.focus();
    refresh();
  });

  // --- the attach button: the chosen file goes at once, the composer's text as its caption -----

  document.addEventListener("htmx:beforeRequest", (event) => {
    if (isAttachment(event)) $("#composer-error").textContent = "";
  });

  document.addEventListener("htmx:afterRequest", (event) => {
    if (!isAttachment(event)) return;
    const status = event.detail.xhr?.status || 0;
    if (status >= 200 && status < 300) $("#composer-text").value = ""; // sent as the caption
    if (!status) $("#composer-error").textContent = "Not sent: the server cannot be reached.";
    $("#composer-file").value = ""; // the same file can be chosen again
    refresh();
  });

  // On a wide screen, an opened chat is ready to type in (on a phone that would pop the keyboard up).
  const focusComposer = () => {
    if (window.matchMedia("(min-width: 721px)").matches) $("#composer-text")?.focus();
  };

  document.addEventListener("htmx:afterSettle", (event) => {
    refresh();
    if (event.detail.target?.id === "chat") {
      focusComposer();
      markReadSoon(); // opening a chat reads it (a POST: the GET that showed it changed nothing)
    }
  });

  // The customer sees "typing…" while the agent types: the server is told at most every 20 s.
  let typingToldAt = 0;
  document.addEventListener("input", (event) => {
    if (event.target?.id !== "composer-text" || !event.target.value.trim()) return;
    const url = openChat()?.dataset.typingUrl;
    if (!url || Date.now() - typingToldAt < 20000) return;
    typingToldAt = Date.now();
    fetch(url, { method: "POST", headers: { "X-CSRFToken": csrfToken } }).catch(() => {});
  });

  document.addEventListener("visibilitychange", () => {
    const waId = openChat()?.dataset.chatWaId;
    if (waId && $(`#conversation-list [data-wa-id="${CSS.escape(waId)}"] .badge`)) markReadSoon();
  });

  setInterval(refresh, 60000); // "Today" becomes "Yesterday" at midnight

  // --- the template picker: the text as it will be sent, with the parameters typed so far -----

  const PLACEHOLDER = /\{\{\s*(\d+)\s*\}\}/g;
  function previewTemplate(form) {
    const preview = $(".template-preview", form);
    if (!preview) return;
    const values = {};
    for (const input of $$("input[data-parameter]", form)) values[input.dataset.parameter] = input.value;
    preview.textContent = preview.dataset.body.replace(PLACEHOLDER, (placeholder, n) =>
      values[n]?.trim() ? values[n] : placeholder);
  }

  document.addEventListener("input", (event) => {
    const form = event.target.closest?.(".template-form");
    if (form) previewTemplate(form);
  });

  document.addEventListener("click", (event) => {
    if (!event.target.closest?.("[data-close-picker]")) return;
    const picker = $("#template-picker");
    if (picker) picker.replaceChildren();
    $("#composer-text")?.focus();
  });

  const isTemplateForm = (event) => (event.detail.requestConfig?.elt || event.detail.elt)?.classList?.contains("template-form");

  document.addEventListener("htmx:beforeRequest", (event) => {
    if (isTemplateForm(event)) $("#template-error").textContent = "";
  });

  document.addEventListener("htmx:beforeSwap", (event) => {
    if (!isTemplateForm(event) || event.detail.xhr.status >= 300) return;
    const bubble = fromHTML(event.detail.serverResponse);
    if (bubble && findMessage(bubble.dataset.messageId)) event.detail.shouldSwap = false; // pushed first
  });

  document.addEventListener("htmx:afterRequest", (event) => {
    if (!isTemplateForm(event)) return;
    const status = event.detail.xhr?.status || 0;
    if (!status) $("#template-error").textContent = "Not sent: the server cannot be reached.";
    if (status < 200 || status >= 300) return;
    const form = event.detail.requestConfig?.elt || event.detail.elt;
    form.reset();
    previewTemplate(form);
    refresh();
  });

  // --- live updates -------------------------------------------------------------------------------

  const offline = $("#offline");
  const socket = io({ reconnectionDelay: 500, reconnectionDelayMax: 2000 });
  let connectedBefore = false;

  const online = (connected) => {
    offline.hidden = connected;
    document.documentElement.dataset.socket = connected ? "connected" : "offline";
  };
  socket.on("connect", () => {
    online(true);
    if (connectedBefore) catchUp(); // whatever happened while we were away
    connectedBefore = true;
  });
  // The server refused the connection or closed it (signed out, here or in another tab): the page
  // reloads, and the server sends it to the sign-in page if the session is over. At most once a
  // minute, so a page the server keeps refusing does not reload in a loop.
  const signInAgain = () => {
    const last = Number(sessionStorage.getItem("inbox:signInReload") || 0);
    if (Date.now() - last < 60000) return;
    sessionStorage.setItem("inbox:signInReload", String(Date.now()));
    window.location.reload();
  };
  let leaving = false; // this page is signing out: its socket closes with it, quietly
  document.addEventListener("submit", (event) => {
    if (!event.target.closest(".sign-out")) return;
    leaving = true;
    socket.disconnect();
  });
  socket.on("disconnect", (reason) => {
    if (leaving) return;
    online(false);
    if (reason === "io server disconnect") signInAgain();
  });
  socket.on("connect_error", () => {
    online(false);
    if (!socket.active) signInAgain(); // refused by the server, not a network error: no retry
  });

  socket.on("message:new", (message) => {
    if (openChat()?.dataset.chatWaId !== message.wa_id) return;
    insertMessage(message.html);
    if (message.direction === "inbound") markReadSoon();
  });

  socket.on("message:status", (update) => {
    const bubble = findMessage(update.id);
    const tick = bubble && $("[data-tick]", bubble);
    if (!tick || !update.html) return;
    const next = fromHTML(update.html);
    // Ticks only move forward, except a failed message sent again ("Retry"): it starts over.
    const retried = tick.classList.contains("tick--failed") && update.status !== "failed";
    if (retried || Number(next.dataset.rank) > Number(tick.dataset.rank)) {
      tick.replaceWith(next);
      htmx.process(next);
    }
  });

  socket.on("message:reactions", (update) => {
    const badge = findMessage(update.id)?.querySelector("[data-reactions]");
    if (badge && update.html) badge.replaceWith(fromHTML(update.html));
  });

  // A received file was fetched (or failed): the bubble again, as the server renders it now.
  socket.on("message:media", (update) => {
    const old = findMessage(update.id);
    if (!old || !update.html) return;
    const next = fromHTML(update.html);
    old.replaceWith(next);
    htmx.process(next);
    refresh();
  });

  socket.on("conversation:update", (conversation) => placeRow(conversation.html, conversation.wa_id));

  socket.on("whatsapp:status", (update) => {
    const banner = document.getElementById("whatsapp-banner");
    if (banner && update.html) banner.replaceWith(fromHTML(update.html));
  });

  refresh();
  focusComposer();
  markReadSoon(); // a chat opened by loading its address

  // For the page's other scripts (static/js/team.js): the live connection and the helpers they share.
  window.inbox = { socket, insertMessage, refresh, openChat, csrfToken, fromHTML };
})();
