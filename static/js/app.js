// Behaviour shared by every page. No inline scripts anywhere (the CSP forbids them).
"use strict";

// <form data-confirm="…">: ask before a destructive or irreversible action. Not while a
// required field is empty: the server refuses it anyway, and says which field beside it.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const message = form.dataset && form.dataset.confirm;
  // checkValidity: an empty required field, an unanswered required choice (the form itself
  // has novalidate: the server says what is wrong, beside the field).
  if (message && form.checkValidity() && !window.confirm(message)) {
    event.preventDefault();
  }
});

// The sticky bars (the navigation on top, a form's save bar at the bottom) never hide what the
// keyboard moved to: the browser scrolls a focused field into the window, not clear of them.
// An input hidden behind its label (a chip, a file button) is shown by its label.
const CONTROLS = ["INPUT", "SELECT", "TEXTAREA", "BUTTON", "A"];
document.addEventListener("focusin", (event) => {
  const field = event.target;
  const navbar = document.querySelector(".app-navbar");
  const bar = document.querySelector(".submit-bar");
  if (!CONTROLS.includes(field.tagName) || [navbar, bar].some((b) => b && b.contains(field))) {
    return; // not a field (the page itself, focused by the skip link or a tap on it), or a bar's
  }
  const hidden = field.classList.contains("btn-check") || field.type === "file";
  const shown = (hidden && field.id && document.querySelector(`label[for="${field.id}"]`)) || field;
  const box = shown.getBoundingClientRect();
  const below = bar ? box.bottom - bar.getBoundingClientRect().top : 0;
  const above = navbar ? navbar.getBoundingClientRect().bottom - box.top : 0;
  if (below > 0) {
    window.scrollBy({ top: below + 16, behavior: "instant" });
  } else if (above > 0) {
    window.scrollBy({ top: -(above + 16), behavior: "instant" });
  }
});

// A page sent back with errors beside its fields: the keyboard (and a screen reader) starts
// at the first of them, not at the top of the page. A field the page focuses itself is left be.
document.addEventListener("DOMContentLoaded", () => {
  const first = document.querySelector("main .is-invalid");
  if (first && !document.querySelector("[autofocus]")) {
    first.focus();
  }
});

// <form data-busy="…">: long work ahead — disable the buttons and say what is happening.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (event.defaultPrevented || !form.dataset || !form.dataset.busy) {
    return;
  }
  for (const button of form.querySelectorAll("button[type=submit]")) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    button.textContent = form.dataset.busy;
  }
});

// <div data-keep-typed="key">: cards whose forms each send their own fields only. What was typed
// in the other cards is kept across the page sent back (in this tab only, once) and put back
// into those fields still there and empty: taking one step does not wipe a note half-written
// for another.
const KEPT_TYPES = ["text", "date", "number"]; // and every text area
for (const cards of document.querySelectorAll("[data-keep-typed]")) {
  const key = `typed:${cards.dataset.keepTyped}`;
  const kept = JSON.parse(window.sessionStorage.getItem(key) || "{}");
  window.sessionStorage.removeItem(key);
  for (const [id, value] of Object.entries(kept)) {
    const field = document.getElementById(id);
    if (field && cards.contains(field) && !field.value) {
      field.value = value;
    }
  }
  // On the window: after the confirmations (on the document) have had their say.
  window.addEventListener("submit", (event) => {
    if (event.defaultPrevented || !cards.contains(event.target)) {
      return;
    }
    const typed = {};
    const others = [...cards.querySelectorAll("form")].filter((form) => form !== event.target);
    for (const field of others.flatMap((form) => [...form.elements])) {
      const typable = field instanceof HTMLTextAreaElement || KEPT_TYPES.includes(field.type);
      if (field.id && typable && field.value.trim()) {
        typed[field.id] = field.value;
      }
    }
    if (Object.keys(typed).length) {
      window.sessionStorage.setItem(key, JSON.stringify(typed));
    }
  });
}

// <button data-copy="id" data-copied="…" hidden>: copies that element's text. Shown only where the
// browser lets a page write to the clipboard (HTTPS or this machine); elsewhere the text is
// selected whole by a tap, to copy by hand.
for (const button of document.querySelectorAll("[data-copy]")) {
  if (!navigator.clipboard || !window.isSecureContext) {
    continue;
  }
  button.hidden = false;
  const label = button.innerHTML;
  button.addEventListener("click", async () => {
    const source = document.getElementById(button.dataset.copy);
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
    } catch (_error) {
      window.getSelection().selectAllChildren(source); // refused: selected, to copy by hand
      return;
    }
    button.textContent = button.dataset.copied;
    window.setTimeout(() => { button.innerHTML = label; }, 2000);
  });
}

// The enterprise type-ahead: hide the results when the box is emptied or loses focus.
document.addEventListener("htmx:afterSwap", (event) => {
  const results = event.detail.target;
  if (results.id === "typeahead-results") {
    const box = document.getElementById("q");
    if (box) {
      box.setAttribute("aria-expanded", results.innerHTML.trim() ? "true" : "false");
    }
  }
});
document.addEventListener("focusout", (event) => {
  const container = event.target.closest && event.target.closest(".typeahead");
  if (container && !container.contains(event.relatedTarget)) {
    const results = container.querySelector(".typeahead-results");
    window.setTimeout(() => { results.innerHTML = ""; }, 150);
  }
});

// The visits kept on this device until the server has them (IndexedDB; the visit form fills
// and sends them). Every page opens it the same way: the first to open it makes its store.
window.crmOutbox = () => new Promise((resolve, reject) => {
  const request = window.indexedDB.open("crm-visits", 1);
  request.onupgradeneeded = () => request.result.createObjectStore("outbox", { keyPath: "id" });
  request.onsuccess = () => resolve(request.result);
  request.onerror = () => reject(request.error);
});

// <div id="outbox-waiting" data-template="…{n}…" hidden>: the officer's visits still on this
// device are told on every page, with the way to the form that sends them (which shows them
// itself, one by one).
const waitingNote = document.getElementById("outbox-waiting");
if (waitingNote && window.indexedDB && !document.getElementById("outbox")) {
  window.crmOutbox().then((db) => {
    const request = db.transaction("outbox").objectStore("outbox").getAll();
    request.onsuccess = () => {
      const mine = request.result.filter((entry) => entry.user === document.body.dataset.user);
      waitingNote.querySelector("[data-count]").textContent = waitingNote.dataset.template.replace("{n}", mine.length);
      waitingNote.hidden = mine.length === 0;
      db.close();
    };
  }).catch(() => {});
}

// The tablet app: a service worker keeps the visit form usable without network (static/sw.js).
// Browsers allow it only on HTTPS or localhost.
if ("serviceWorker" in navigator && document.body.dataset.user) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
}

// Logged out: forget the pages kept for offline use (they carry the user's name and form).
if (!document.body.dataset.user && "caches" in window) {
  window.caches.delete("crm-pages").catch(() => {});
}
