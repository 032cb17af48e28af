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

  const clock = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" }); // 9:05 AM, 09:05
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

  // Of two renderings of a conversation's row, the one with more writes (`data-rev`) is newer; rows
  // without it (rendered before it existed) are ordered by their last message's time.
  function olderRow(row, than) {
    const rev = Number(row.dataset.rev || 0);
    const thanRev = Number(than.dataset.rev || 0);
    if (rev && thanRev) return rev < thanRev;
    return timeOf(than) > timeOf(row);
  }

  function placeRow(html, waId) {
    const list = $("#conversation-list");
    if (!list || !html) return;
    const row = fromHTML(html);
    const old = $(`[data-wa-id="${CSS.escape(waId)}"]`, list);
    if (old && olderRow(row, old)) return; // an older state, overtaken
    if (!old && $("#search")?.value.trim()) return; // not among the search results shown
    const hadFocus = Boolean(old && old.contains(document.activeElement));
    old?.remove();
    $(".list-empty", list)?.remove();
    const next = $$("[data-wa-id]", list).find((other) => timeOf(other) <= timeOf(row));
    const more = $(".list-more", list);
    if (!next && more) return; // older than every row shown: it comes with the next page
    list.insertBefore(row, next || null);
    htmx.process(row);
    localizeTimes(row);
    markActiveRow();
    if (hadFocus) $(".row-link", row)?.focus(); // a row updated under the keyboard keeps the focus
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
    const keep = scrolledUp() ? visibleAnchor() : null; // the agent reads history: the view must not move
    const anchorTop = keep?.getBoundingClientRect().top;
    if (later.length) later[0].before(bubble);
    else if (pending) pending.before(bubble);
    else list.append(bubble);
    htmx.process(bubble);
    refresh();
    if (keep) {
      $(".messages").scrollTop += keep.getBoundingClientRect().top - anchorTop;
      showNewPill();
    }
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
    const unreadUrl = $("#app")?.dataset.unreadUrl;
    if (unreadUrl) {
      whilePushesKept(fetch(unreadUrl, { headers: { Accept: "application/json" } })
        .then((response) => (response.ok ? response.json() : null))
        .then((body) => { if (body) { unread = body.unread; showUnread(); } }));
    }
    const list = $("#conversation-list");
    if (list) {
      const query = $("#search")?.value.trim() || "";
      const filter = encodeURIComponent(list.dataset.filter || "all");
      // Each from its own element: htmx queues a request from an element with one out (the body by
      // default), and answers its promise at once.
      whilePushesKept(htmx.ajax("GET", `${list.dataset.listUrl}?q=${encodeURIComponent(query)}&filter=${filter}`,
                                { source: list, target: list, swap: "innerHTML" }));
    }
    const chat = openChat();
    if (chat) {
      whilePushesKept(htmx.ajax("GET", chat.dataset.messagesUrl,
                                { source: "#message-list", target: "#message-list", swap: "innerHTML" }));
      markReadSoon();
    }
  }

  // The counts, list or chat a catch-up fetches may have been read before a push that arrives while they
  // are out: once they are in, those pushes are applied again (a count pushed is as new as what was
  // fetched, or newer; rows keep the newer rendering, a bubble already there is kept, a tick only moves
  // forward).
  const pushesKept = new Set();
  function whilePushesKept(request) {
    const pushes = [];
    pushesKept.add(pushes);
    const again = () => {
      pushesKept.delete(pushes);
      for (const apply of pushes) apply();
    };
    request.then(again, again);
  }
  function applyPush(apply, again = apply) {
    for (const pushes of pushesKept) pushes.push(again);
    apply();
  }

  // --- the composer: Enter sends, Shift+Enter breaks the line; the bubble shows at once -------

  document.addEventListener("keydown", (event) => {
    const box = event.target;
    if (box.id !== "composer-text" || event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    if (touchFirst()) return; // a phone's Enter is a new line; its send button sends
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
      if (status !== 422) showSendError(event.detail.xhr); // a 422 names the problem itself
    }
    pending?.remove();
    box.focus();
    countCharacters();
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
    showUnread(); // a swapped chat brings its own <title>
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
  // WebSocket only: one connection to one web process (no long-polling, so no sticky sessions).
  const socket = io({ transports: ["websocket"], reconnectionDelay: 500, reconnectionDelayMax: 2000 });
  let connectedBefore = false;

  const online = (connected) => {
    offline.hidden = connected;
    document.documentElement.dataset.socket = connected ? "connected" : "offline";
  };
  socket.on("connect", () => {
    online(true);
    if (connectedBefore) catchUp(); // whatever happened while we were away
    else catchUpIfChanged(); // whatever happened between this page's HTML and its connection
    connectedBefore = true;
  });

  // The page was made at change number `data-changes`; if the server has counted more since, a push
  // went out before this page could hear it.
  let firstCheckDone = false;
  function catchUpIfChanged() {
    const app = $("#app");
    const seen = app?.dataset.changes || "";
    const checked = () => { firstCheckDone = true; markReadSoon(); };
    if (!app?.dataset.changesUrl) return checked();
    fetch(app.dataset.changesUrl, { headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : null))
      .then((body) => { if (body && (seen === "" || body.changes === null || String(body.changes) !== seen)) catchUp(); })
      .catch(() => {})
      .finally(checked);
  }
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
    if (!event.target.closest(".sign-out") || event.defaultPrevented) return;
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
    if (message.direction === "inbound") noticeInbound(message);
    if (openChat()?.dataset.chatWaId !== message.wa_id) return;
    applyPush(() => { if (openChat()?.dataset.chatWaId === message.wa_id) insertMessage(message.html); });
    if (message.direction === "inbound") {
      announce(`New message from ${message.contactName || `+${message.wa_id}`}: ${message.preview || message.type}`);
      markReadSoon();
    }
  });

  // Applied again after a catch-up only to move a tick forward: a failed tick fetched is newer than a
  // push from before the send failed.
  socket.on("message:status", (update) => applyPush(() => showStatus(update), () => showStatus(update, false)));
  function showStatus(update, mayRestart = true) {
    const bubble = findMessage(update.id);
    const tick = bubble && $("[data-tick]", bubble);
    if (!tick || !update.html) return;
    const next = fromHTML(update.html);
    // Ticks only move forward, except a failed message sent again ("Retry"): it starts over.
    const retried = mayRestart && tick.classList.contains("tick--failed") && update.status !== "failed";
    if (retried || Number(next.dataset.rank) > Number(tick.dataset.rank)) {
      tick.replaceWith(next);
      htmx.process(next);
    }
  }

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

  // The text of a received image or PDF was read (webapp/ocr): the bubble again, showing it.
  socket.on("message:text", (update) => {
    const old = findMessage(update.id);
    if (!old || !update.html) return;
    const next = fromHTML(update.html);
    old.replaceWith(next);
    htmx.process(next);
    refresh();
  });

  socket.on("conversation:update", (conversation) => {
    applyPush(() => placeRow(conversation.html, conversation.wa_id));
    const count = conversation.unreadCount;
    if (typeof count === "number") applyPush(() => countUnread(conversation.wa_id, count));
  });

  // The server could not push something (its database blipped): fetch the list and open chat again.
  socket.on("inbox:resync", () => catchUp());

  socket.on("whatsapp:status", (update) => {
    const banner = document.getElementById("whatsapp-banner");
    if (banner && update.html) banner.replaceWith(fromHTML(update.html));
  });

  // --- noticing new messages: the tab's title and icon, a sound, browser notifications ----------

  const app = $("#app");
  const icon = $('link[rel="icon"]');
  const plainIcon = icon?.getAttribute("href");
  // Unread messages per contact: from the page, then from every pushed row (and again after a reconnect).
  let unread = {};
  try {
    unread = JSON.parse(app?.dataset.unread || "{}");
  } catch { /* shown without a count */ }
  function countUnread(waId, count) {
    if (count > 0) unread[waId] = count;
    else delete unread[waId];
    showUnread();
  }
  function showUnread() {
    const total = Object.values(unread).reduce((sum, n) => sum + n, 0);
    const title = document.title.replace(/^\(\d+\) /, "");
    document.title = total > 0 ? `(${total}) ${title}` : title;
    if (icon && app?.dataset.faviconUnread) icon.setAttribute("href", total > 0 ? app.dataset.faviconUnread : plainIcon);
  }

  const soundButton = $("#sound-button");
  let soundOn = localStorage.getItem("inbox:sound") === "on";
  let audio = null;
  const showSound = () => {
    soundButton?.setAttribute("aria-pressed", String(soundOn));
    soundButton?.setAttribute("title", soundOn ? "Sound on for new messages" : "Sound off for new messages");
  };
  soundButton?.addEventListener("click", () => {
    soundOn = !soundOn;
    localStorage.setItem("inbox:sound", soundOn ? "on" : "off");
    audio ||= window.AudioContext ? new AudioContext() : null; // made on a click, so it may play
    showSound();
  });
  function chime() {
    if (!soundOn) return;
    audio ||= window.AudioContext ? new AudioContext() : null;
    document.dispatchEvent(new CustomEvent("inbox:chime"));
    if (!audio || audio.state === "suspended") return;
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.25);
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.25);
  }

  // Notifications are asked for with the bell button, never on load.
  const notifyButton = $("#notify-button");
  const canNotify = () => "Notification" in window;
  const showNotify = () => {
    if (notifyButton) notifyButton.hidden = !canNotify() || Notification.permission !== "default";
  };
  notifyButton?.addEventListener("click", async () => {
    if (!canNotify()) return;
    try {
      await Notification.requestPermission();
    } finally {
      showNotify();
    }
  });
  function notify(message) {
    const watching = document.visibilityState === "visible" && openChat()?.dataset.chatWaId === message.wa_id;
    if (watching || !canNotify() || Notification.permission !== "granted") return;
    const note = new Notification(message.contactName || `+${message.wa_id}`,
      { body: message.preview || "New message", tag: `chat-${message.wa_id}` });
    note.onclick = () => {
      window.focus();
      const link = $(`#conversation-list [data-wa-id="${CSS.escape(message.wa_id)}"] a`);
      if (link) link.click();
      else window.location.assign(`/c/${encodeURIComponent(message.wa_id)}`);
    };
  }
  function noticeInbound(message) {
    chime();
    notify(message);
  }

  // Screen readers hear each new message once, and never a page of history loaded by scrolling.
  function announce(text) {
    const region = $("#announcer");
    if (!region) return;
    region.textContent = "";
    setTimeout(() => { region.textContent = text; }, 50);
  }

  // --- the "new messages" pill: a message arrived while the agent reads further up -------------

  const scroller = () => $(".messages");
  const scrolledUp = () => (scroller()?.scrollTop || 0) < -80; // the scroller is reversed: 0 is the bottom
  function visibleAnchor() {
    const box = scroller()?.getBoundingClientRect();
    return box && $$("#message-list .msg").find((m) => m.getBoundingClientRect().bottom > box.top);
  }
  let unseen = 0;
  function showNewPill() {
    const pill = $("#new-messages");
    if (!pill) return;
    unseen += 1;
    pill.textContent = unseen === 1 ? "1 new message ↓" : `${unseen} new messages ↓`;
    pill.hidden = false;
  }
  function hidePill() {
    unseen = 0;
    const pill = $("#new-messages");
    if (pill) pill.hidden = true;
  }
  document.addEventListener("click", (event) => {
    if (!event.target.closest?.("#new-messages")) return;
    scroller()?.scrollTo({ top: 0 });
    hidePill();
  });
  document.addEventListener("scroll", (event) => {
    if (event.target?.classList?.contains("messages") && !scrolledUp()) hidePill();
  }, true);
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.target?.id === "chat") hidePill();
  });

  // --- the composer: errors the agent can act on, a count near the limit ------------------------

  function touchFirst() {
    return window.matchMedia("(pointer: coarse)").matches; // a touch screen is the main pointer
  }

  function showSendError(xhr) {
    const error = $("#composer-error");
    if (!error) return;
    const status = xhr?.status || 0;
    let said = "";
    try {
      said = JSON.parse(xhr.responseText).message || "";
    } catch { /* an HTML page or nothing */ }
    const wait = xhr?.getResponseHeader?.("Retry-After");
    let text = "Not sent: the server cannot be reached.";
    if (status === 429) text = `Not sent: too many messages at once.${wait ? ` Try again in ${wait} s.` : ""}`;
    else if (status === 503) text = `Not sent: the inbox is unavailable right now (503).${wait ? ` Try again in ${wait} s.` : ""}`;
    else if (status >= 500) text = `Not sent: the server had a problem (${status}).`;
    else if (status) text = `Not sent: ${said || `the server refused it (${status})`}`;
    const retry = document.createElement("button");
    retry.type = "button";
    retry.className = "composer-retry";
    retry.textContent = "Retry";
    error.replaceChildren(`${text} `, retry);
  }

  document.addEventListener("click", (event) => {
    if (!event.target.closest?.(".composer-retry")) return;
    $("#composer-error").textContent = "";
    $("#composer")?.requestSubmit();
  });

  function countCharacters() {
    const box = $("#composer-text");
    const counter = $("#char-count");
    if (!box || !counter) return;
    const max = Number(box.dataset.maxLength || 0);
    const length = [...box.value].length; // characters, as the server counts them
    const near = max > 0 && length >= Math.floor(max * 0.9);
    counter.hidden = !near;
    counter.textContent = near ? `${length} / ${max}` : "";
    counter.classList.toggle("char-count--over", length > max);
  }

  document.addEventListener("input", (event) => {
    if (event.target?.id !== "composer-text") return;
    const error = $("#composer-error");
    if (error) error.textContent = ""; // the agent is fixing it
    countCharacters();
  });

  // --- long messages fold; "Read more" unfolds ------------------------------------------------------

  document.addEventListener("click", (event) => {
    const button = event.target.closest?.("[data-read-more]");
    if (!button) return;
    const text = button.previousElementSibling;
    text?.removeAttribute("data-folded");
    button.remove();
    text?.setAttribute("tabindex", "-1");
    text?.focus({ preventScroll: true });
  });

  // --- a bubble's actions: reply (the composer quotes it) and react (a row of emojis) --------------

  const cancelReply = () => {
    const quote = $("#composer-quote");
    if (!quote || quote.hidden) return false;
    quote.hidden = true;
    $("#composer-reply-to").value = "";
    return true;
  };

  const startReply = (button) => {
    const message = button.closest("[data-message-id]");
    const quote = $("#composer-quote");
    if (!message || !quote) return;
    $("#composer-reply-to").value = message.dataset.messageId;
    $("[data-quote-author]", quote).textContent = button.dataset.author || $(".chat-title h2")?.textContent || "";
    $("[data-quote-text]", quote).textContent = button.dataset.preview || "";
    quote.hidden = false;
    $("#composer-text")?.focus();
  };

  let reactingTo = null; // the bubble the picker is open for, and the button that opened it
  const closeReactions = (refocus = false) => {
    const picker = $("#react-picker");
    if (!picker || picker.hidden) return false;
    picker.hidden = true;
    if (refocus) reactingTo?.button.focus();
    reactingTo = null;
    return true;
  };

  const openReactions = (button) => {
    const message = button.closest("[data-message-id]");
    const picker = $("#react-picker");
    if (!message || !picker) return;
    reactingTo = { id: message.dataset.messageId, button };
    picker.hidden = false;
    const at = button.getBoundingClientRect();
    const width = picker.offsetWidth;
    picker.style.left = `${Math.max(8, Math.min(at.left + at.width / 2 - width / 2, window.innerWidth - width - 8))}px`;
    picker.style.top = `${Math.max(8, at.top - picker.offsetHeight - 6)}px`;
    $("button", picker).focus();
  };

  const react = (emoji) => {
    const picker = $("#react-picker");
    if (!reactingTo || !picker) return;
    const id = reactingTo.id;
    closeReactions(true);
    $("#composer-error").textContent = "";
    htmx.ajax("POST", picker.dataset.reactUrl.replace("MESSAGE_ID", encodeURIComponent(id)), {
      values: { emoji }, swap: "none", source: picker,
    });
  };

  // The answer is the bubble's reactions (other pages get them pushed); an error names itself in the composer.
  document.addEventListener("htmx:afterRequest", (event) => {
    const elt = event.detail.requestConfig?.elt || event.detail.elt;
    if (elt?.id !== "react-picker") return;
    const xhr = event.detail.xhr;
    if (xhr.status >= 200 && xhr.status < 300) {
      const id = decodeURIComponent(new URL(xhr.responseURL).pathname.split("/").at(-2));
      const badge = findMessage(id)?.querySelector("[data-reactions]");
      if (badge && xhr.responseText) badge.replaceWith(fromHTML(xhr.responseText));
    } else if (!xhr.status) {
      $("#composer-error").textContent = "Not sent: the server cannot be reached.";
    }
  });

  document.addEventListener("click", (event) => {
    const target = event.target;
    const reply = target.closest?.("[data-reply]");
    if (reply) return startReply(reply);
    if (target.closest?.("[data-cancel-reply]")) {
      cancelReply();
      return $("#composer-text")?.focus();
    }
    const open = target.closest?.("[data-react-open]");
    if (open) return reactingTo?.button === open ? closeReactions() : openReactions(open);
    const choice = target.closest?.("#react-picker [data-emoji]");
    if (choice) return react(choice.dataset.emoji);
    if (!target.closest?.("#react-picker")) closeReactions();
  });

  // Sent: the quote goes with it. A chat swapped in starts without one.
  document.addEventListener("htmx:afterRequest", (event) => {
    if ((isComposer(event) || isAttachment(event)) && event.detail.xhr?.status >= 200 && event.detail.xhr.status < 300) {
      cancelReply();
    }
  });

  // Escape closes the emoji row first, then drops the quote, before it closes the chat.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || event.isComposing) return;
    if (closeReactions(true) || cancelReply()) event.preventDefault();
  });

  // --- keyboard: arrows move in the chat list, Escape closes the chat -------------------------------

  document.addEventListener("keydown", (event) => {
    const link = event.target.closest?.("#conversation-list .row-link");
    if (!link || !["ArrowDown", "ArrowUp", "Home", "End"].includes(event.key)) return;
    const links = $$("#conversation-list .row-link");
    const at = links.indexOf(link);
    const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: links.length - 1 }[event.key];
    if (to < 0 || to >= links.length) return;
    event.preventDefault();
    links[to].focus();
  });

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || event.defaultPrevented || event.isComposing) return;
    if (event.target.closest?.("dialog") || (event.target.type === "search" && event.target.value)) return;
    if ($(".tick--failed:focus-within")) return; // Escape first closes an error's tooltip
    const chat = openChat();
    const back = chat && $(".back", chat);
    if (!back) return;
    event.preventDefault();
    refocusRow = chat.dataset.chatWaId;
    back.click();
  });

  // After Escape, the agent is back on the chat's row in the list (a swap, or a history restore).
  let refocusRow = null;
  const focusRowAgain = () => {
    if (!refocusRow || openChat()) return;
    const waId = refocusRow;
    refocusRow = null;
    setTimeout(() => $(`#conversation-list [data-wa-id="${CSS.escape(waId)}"] .row-link`)?.focus(), 0);
  };
  document.addEventListener("htmx:afterSettle", focusRowAgain);
  document.addEventListener("htmx:historyRestore", focusRowAgain);

  // --- phone width: the in-app back button goes back, adding no history entry --------------------

  let chatPushed = false; // this page opened the chat on screen, and put it in the history itself
  document.addEventListener("htmx:pushedIntoHistory", (event) => {
    chatPushed = /^\/c\//.test(event.detail.path || "");
  });
  document.addEventListener("htmx:historyRestore", () => { chatPushed = false; });
  document.addEventListener("htmx:replacedInHistory", () => { chatPushed = false; });
  document.addEventListener("click", (event) => {
    if (!event.target.closest?.(".chat .back") || !chatPushed) return;
    event.preventDefault();
    event.stopPropagation(); // not htmx's request: the browser's own back
    chatPushed = false;
    history.back();
  }, true);

  // --- signing out asks first -----------------------------------------------------------------------

  let signOutConfirmed = false;
  const signOutDialog = $("#sign-out-dialog");
  document.addEventListener("submit", (event) => {
    const form = event.target.closest?.(".sign-out");
    if (!form || signOutConfirmed || !signOutDialog?.showModal) return;
    event.preventDefault();
    signOutDialog.returnValue = "";
    signOutDialog.showModal();
  }, true);
  signOutDialog?.addEventListener("close", () => {
    if (signOutDialog.returnValue !== "sign-out") return;
    signOutConfirmed = true;
    $(".sign-out")?.requestSubmit();
  });

  // The AI: the open chat's handler bar (AI or people) redraws on `ai:state`; a handoff (`ai:handoff`)
  // shows a notification on every open page.
  const refreshHandler = (waId) => {
    const bar = document.getElementById("ai-handler");
    if (bar && bar.dataset.waId === waId) htmx.trigger(bar, "ai-state");
  };
  socket.on("ai:state", (update) => refreshHandler(update.wa_id));
  socket.on("ai:handoff", (update) => {
    refreshHandler(update.wa_id);
    let box = document.getElementById("ai-notices");
    if (!box) {
      box = document.createElement("div");
      box.id = "ai-notices";
      box.className = "ai-notices";
      box.setAttribute("role", "status");
      document.body.appendChild(box);
    }
    const note = document.createElement("p");
    note.className = "ai-notice";
    note.dataset.waId = update.wa_id;
    note.textContent = update.text;
    box.appendChild(note);
    setTimeout(() => note.remove(), 15000);
  });

  refresh();
  focusComposer();
  // A chat opened by loading its address is read once the first connection's check is done (so this
  // page's own read does not count as a change it missed), or after 2 s without a connection.
  setTimeout(() => { if (!firstCheckDone) markReadSoon(); }, 2000);
  showUnread();
  showSound();
  showNotify();

  // For the page's other scripts (static/js/team.js): the live connection and the helpers they share.
  window.inbox = { socket, insertMessage, refresh, openChat, csrfToken, fromHTML };
})();
