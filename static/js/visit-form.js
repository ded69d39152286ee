// The tablet visit form: chips, "+ 问题" rows, the enterprise picker (online and offline),
// photos, a draft kept while typing, and an outbox in IndexedDB that sends visits when the
// network allows. Every visit carries its client_uuid, so a resend is stored once.
"use strict";

(() => {
  const form = document.getElementById("visit-form");
  if (!form) {
    return;
  }
  const messages = JSON.parse(form.dataset.messages || "{}");
  const offline = form.dataset.offline === "true";
  const userId = form.dataset.user || "";
  const $ = (id) => document.getElementById(id);
  const format = (text, values) => text.replace(/\{(\w+)\}/g, (_m, key) => values[key] ?? "");

  // Enter in a one-line field moves on instead of sending the visit half-filled (a browser sends a
  // form on Enter in any of its text boxes): only the save button saves.
  form.addEventListener("keydown", (event) => {
    const field = event.target;
    if (event.key === "Enter" && field instanceof HTMLInputElement && !["submit", "button"].includes(field.type)) {
      event.preventDefault();
    }
  });

  // ---- Chips: a policy's note appears when its chip is on; colleagues can be filtered. ----
  form.addEventListener("change", (event) => {
    const box = event.target;
    if (box.dataset && box.dataset.note) {
      $(box.dataset.note).hidden = !box.checked;
    }
  });
  for (const filter of document.querySelectorAll("[data-chip-filter]")) {
    filter.addEventListener("input", () => {
      const text = filter.value.trim().toLowerCase();
      for (const chip of $(filter.dataset.chipFilter).querySelectorAll(".chip")) {
        const shown = !text || chip.dataset.chipText.toLowerCase().includes(text);
        chip.hidden = !shown && !chip.querySelector("input").checked;
      }
    });
  }

  // ---- "+ 问题" rows, added and removed in place. ----
  const problems = $("problems");
  const MAX_PROBLEMS = 20;
  let nextProblem = problems ? problems.querySelectorAll("[data-problem-row]").length : 0;
  function countProblems() {
    const rows = problems.querySelectorAll("[data-problem-row]").length;
    $("no-problems").hidden = rows > 0;
    $("add-problem").disabled = rows >= MAX_PROBLEMS;
  }
  function addProblem() {
    const html = $("problem-template").innerHTML.replaceAll("__index__", String(nextProblem++));
    problems.insertAdjacentHTML("beforeend", html);
    countProblems();
    const rows = problems.querySelectorAll("[data-problem-row]");
    return rows[rows.length - 1];
  }
  if (problems) {
    $("add-problem").addEventListener("click", () => {
      addProblem().querySelector("input").focus();
    });
    problems.addEventListener("click", (event) => {
      const button = event.target.closest("[data-remove-problem]");
      if (button) {
        button.closest("[data-problem-row]").remove();
        countProblems();
        saveDraft();
      }
    });
  }

  // ---- Position. ----
  const locate = $("locate");
  if (locate) {
    locate.hidden = !("geolocation" in navigator);
    locate.addEventListener("click", () => {
      $("location-status").textContent = messages.locating;
      navigator.geolocation.getCurrentPosition(
        (position) => {
          form.elements.latitude.value = position.coords.latitude.toFixed(6);
          form.elements.longitude.value = position.coords.longitude.toFixed(6);
          $("location-status").textContent = messages.located;
          saveDraft();
        },
        () => { $("location-status").textContent = messages.no_position; },
        { enableHighAccuracy: true, timeout: 15000 },
      );
    });
  }

  // ---- Photos and files: kept in a list the officer can prune before sending. ----
  let pendingFiles = [];
  const preview = $("attachments-preview");
  function renderFiles() {
    preview.replaceChildren();
    pendingFiles.forEach((item, index) => {
      const row = document.createElement("li");
      row.className = "attachment-item";
      if (item.file.type.startsWith("image/")) {
        const image = document.createElement("img");
        image.src = URL.createObjectURL(item.file);
        image.alt = "";
        row.append(image);
      } else {
        const icon = document.createElement("i");
        icon.className = "bi bi-file-earmark-text fs-3";
        row.append(icon);
      }
      const name = document.createElement("span");
      name.className = "text-truncate me-auto";
      name.textContent = `${item.file.name} (${Math.ceil(item.file.size / 1024)} KB)`;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn btn-outline-danger";
      remove.textContent = messages.remove_file;
      remove.addEventListener("click", () => {
        pendingFiles.splice(index, 1);
        renderFiles();
      });
      row.append(name, remove);
      preview.append(row);
    });
  }
  // A camera photo of several MB takes minutes on a weak network: large photos are scaled
  // down on the tablet (longest side 2560 px), which keeps every detail a record needs.
  const MAX_SIDE = 2560;
  async function scaled(file) {
    if (!/^image\/(jpeg|png|webp)$/.test(file.type) || file.size < 1.5e6 || !window.createImageBitmap) {
      return file;
    }
    try {
      const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
      const ratio = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * ratio);
      canvas.height = Math.round(bitmap.height * ratio);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
      if (!blob || blob.size >= file.size) {
        return file;
      }
      const name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
      return new File([blob], name, { type: "image/jpeg", lastModified: file.lastModified });
    } catch (_error) {
      return file; // the server checks it as it is
    }
  }
  const maxBytes = Number(form.dataset.maxBytes || "0");
  let scaling = 0; // choices of files still being scaled down
  let saveWhenScaled = false;
  for (const input of form.querySelectorAll("input[type=file]")) {
    input.addEventListener("change", async () => {
      const chosen = [...input.files];
      const refused = [];
      input.value = "";
      scaling += 1;
      try {
        for (const file of chosen) {
          const ready = await scaled(file);
          if (maxBytes && ready.size > maxBytes) {
            refused.push(format(messages.too_large, { name: file.name }));
          } else {
            pendingFiles.push({ field: input.name, file: ready });
          }
        }
      } finally {
        scaling -= 1;
      }
      renderFiles();
      saveDraft(); // the draft notes how many files it cannot keep
      if (refused.length) {
        showErrors({ [input.name]: refused });
      }
      if (!scaling && saveWhenScaled) {
        saveWhenScaled = false;
        form.requestSubmit();
      }
    });
  }
  // A save while a photo is still being scaled down waits for it, not leaving it out.
  form.addEventListener("submit", (event) => {
    if (scaling) {
      event.preventDefault();
      event.stopImmediatePropagation();
      saveWhenScaled = true;
    }
  });

  // ---- Errors beside the fields, as the server names them. ----
  function clearErrors() {
    for (const element of form.querySelectorAll(".is-invalid")) {
      element.classList.remove("is-invalid");
    }
    for (const element of form.querySelectorAll(".client-error")) {
      element.remove();
    }
    $("form-alert").hidden = true;
  }
  function showErrors(fields) {
    clearErrors();
    let first = null;
    for (const [name, list] of Object.entries(fields || {})) {
      const holder = form.querySelector(`[data-errors-for="${name}"]`);
      const control = form.elements[name] || (name === "enterprise_id" ? $("enterprise-search") : null);
      const target = holder || (control && control.parentElement);
      if (name === "_form" || !target) {
        $("form-alert").textContent = list.join(" ");
        $("form-alert").hidden = false;
        first = first || $("form-alert");
        continue;
      }
      if (control && control.classList) {
        control.classList.add("is-invalid");
      }
      for (const message of list) {
        const div = document.createElement("div");
        div.className = "invalid-feedback d-block client-error";
        div.textContent = message;
        (holder ? holder : target).append(div);
      }
      first = first || target;
    }
    if (first) {
      first.scrollIntoView({ block: "center", behavior: "smooth" });
    }
  }

  // ---- Sending: XHR for upload progress; the answer says stored, rejected or try later. ----
  function send(entry, token, onProgress) {
    const body = new FormData();
    for (const [name, value] of entry.entries) {
      body.append(name, value);
    }
    body.set("csrf_token", token);
    for (const item of entry.files) {
      body.append(item.field, item.file, item.file.name);
    }
    return new Promise((resolve) => {
      const request = new XMLHttpRequest();
      request.open("POST", form.dataset.submitUrl);
      request.setRequestHeader("Accept", "application/json");
      // Given up when nothing moves for a minute, not after a fixed time: on a weak uplink a
      // photo of several MB takes minutes and still gets through, a stalled one does not.
      let stalled = null;
      const moving = () => {
        window.clearTimeout(stalled);
        stalled = window.setTimeout(() => request.abort(), 60000);
      };
      request.upload.onprogress = (event) => {
        moving();
        if (event.lengthComputable && onProgress) {
          onProgress(Math.round((100 * event.loaded) / event.total));
        }
      };
      request.onloadend = () => window.clearTimeout(stalled);
      request.onabort = () => resolve({ kind: "later", network: true, message: messages.slow });
      request.onload = () => {
        let answer = null;
        try {
          answer = JSON.parse(request.responseText);
        } catch (_error) {
          answer = null; // a page, not an answer: the login page after the session ended
        }
        const error = (answer && answer.error) || {};
        if (request.responseURL.includes("/login") || request.status === 401 || request.status === 403) {
          resolve({ kind: "login", status: request.status, message: error.message });
        } else if ((request.status === 200 || request.status === 201) && answer && answer.url) {
          resolve({ kind: "stored", url: answer.url });
        } else if (error.fields && error.fields.client_uuid && request.status === 409) {
          resolve({ kind: "renumber" });
        } else if (error.code === "csrf_failed") {
          // The session changed while it was sent (signed in again elsewhere): the next sync
          // asks for a fresh token and sends it again; nothing in the visit is wrong. The
          // others wait for that fresh token too.
          resolve({ kind: "later", network: true, message: messages.server_error });
        } else if (request.status === 413) {
          const message = error.message || messages.body_too_large; // a proxy's page says nothing
          resolve({ kind: "rejected", message, fields: { _form: [message] } });
        } else if ([400, 404, 409, 422].includes(request.status)) {
          resolve({ kind: "rejected", message: error.message || messages.not_saved, fields: error.fields || {} });
        } else {
          resolve({ kind: "later", message: messages.server_error });
        }
      };
      request.onerror = () => resolve({ kind: "later", network: true });
      moving();
      request.send(body);
    });
  }
  function fieldEntries() {
    const entries = [];
    for (const element of form.elements) {
      if (!element.name || element.type === "file" || element.name === "csrf_token") {
        continue;
      }
      if ((element.type === "checkbox" || element.type === "radio") && !element.checked) {
        continue;
      }
      entries.push([element.name, element.value]);
    }
    return entries;
  }
  function progress(percent) {
    const bar = $("send-progress");
    bar.hidden = percent === null;
    bar.setAttribute("aria-valuenow", String(percent || 0));
    bar.firstElementChild.style.width = `${percent || 0}%`;
  }
  if (!offline) {
    // Editing a stored visit: sent at once (no outbox, no draft). A refusal is told beside the
    // fields and keeps everything, the files chosen too: a page the server renders again could
    // not give them back. Without this script the form is a plain post.
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors();
      const button = $("visit-submit");
      button.disabled = true;
      $("send-status").textContent = messages.sending;
      progress(0);
      const entry = { entries: fieldEntries(), files: pendingFiles };
      // A token of the session as it is now: after logging in again (in another tab), the
      // page's own token is one of the ended session.
      const answer = await freshToken().catch(() => ({}));
      let result = { kind: "later" };
      if (answer.login) {
        result = { kind: "login" };
      } else if (answer.token) {
        result = await send(entry, answer.token, progress);
      }
      progress(null);
      if (result.kind === "stored") {
        $("send-status").textContent = messages.saved;
        window.location.assign(result.url); // the button stays off: no second save meanwhile
        return;
      }
      button.disabled = false;
      $("send-status").textContent = "";
      if (result.kind === "rejected" && Object.keys(result.fields).length) {
        showErrors(result.fields);
      } else {
        // A 403: the visit may no longer be changed by this user (the server says why).
        const login = result.status === 403 && result.message ? result.message : messages.login_to_save;
        const message = { login, rejected: result.message }[result.kind];
        showErrors({ _form: [message || messages.not_saved] });
      }
    });
    // Removing an attachment reloads the page: once something was changed, its question says
    // that the change would be lost.
    const warnOfChanges = () => {
      for (const other of document.querySelectorAll("form[data-confirm-changed]")) {
        other.dataset.confirm = other.dataset.confirmChanged;
      }
    };
    form.addEventListener("input", warnOfChanges);
    form.addEventListener("change", warnOfChanges);
    return;
  }

  // ---- The enterprise picker: the server's search online, the cached list offline. ----
  const search = $("enterprise-search");
  const results = $("enterprise-results");
  const listKey = `crm-offline-enterprises:${userId}`;
  let searchTimer = null;
  let options = [];
  let active = -1;

  function choose(option) {
    form.elements.enterprise_id.value = String(option.id);
    $("chosen-name").textContent = option.name;
    $("chosen-county").textContent = option.county || "";
    $("chosen-enterprise").classList.remove("d-none");
    $("enterprise-search-box").classList.add("d-none");
    closeResults();
    $("change-enterprise").focus(); // the box just left the page: keep the keyboard's place
    saveDraft();
  }
  function closeResults() {
    results.hidden = true;
    results.replaceChildren();
    search.setAttribute("aria-expanded", "false");
    search.removeAttribute("aria-activedescendant");
    options = [];
    active = -1;
  }
  function renderResults(found, hint) {
    options = found;
    results.replaceChildren();
    $("enterprise-hint").textContent = hint || "";
    if (!found.length) {
      const empty = document.createElement("li");
      empty.className = "list-group-item text-body-secondary";
      empty.textContent = messages.no_match;
      results.append(empty);
    }
    found.forEach((option, index) => {
      const item = document.createElement("li");
      item.className = "list-group-item list-group-item-action";
      item.id = `enterprise-option-${index}`;
      item.setAttribute("role", "option");
      item.textContent = option.name;
      const county = document.createElement("small");
      county.className = "text-body-secondary ms-2";
      county.textContent = option.county || "";
      item.append(county);
      item.addEventListener("mousedown", (event) => event.preventDefault());
      item.addEventListener("click", () => choose(option));
      results.append(item);
    });
    results.hidden = false;
    search.setAttribute("aria-expanded", "true");
  }
  function normalize(text) {
    return text.normalize("NFKC").replace(/\s+/g, "").toLowerCase();
  }
  function offlineMatches(query) {
    const text = normalize(query);
    const list = JSON.parse(localStorage.getItem(listKey) || "[]");
    return list
      .filter((e) => e.name.includes(text) || e.initials.startsWith(text) || e.pinyin.includes(text))
      .slice(0, 10);
  }
  async function lookUp(query) {
    if (normalize(query).length < 2) {
      closeResults();
      return;
    }
    try {
      const url = `${form.dataset.enterprisesUrl}?q=${encodeURIComponent(query)}`;
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok || response.redirected) {
        throw new Error(String(response.status));
      }
      renderResults((await response.json()).items);
    } catch (_error) {
      renderResults(offlineMatches(query), messages.offline_list);
    }
  }
  search.addEventListener("input", () => {
    window.clearTimeout(searchTimer);
    searchTimer = window.setTimeout(() => lookUp(search.value), 250);
  });
  search.addEventListener("keydown", (event) => {
    const items = results.querySelectorAll("[role=option]");
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!items.length) {
        return;
      }
      active = (active + (event.key === "ArrowDown" ? 1 : -1) + items.length) % items.length;
      items.forEach((item, index) => item.classList.toggle("active", index === active));
      items[active].scrollIntoView({ block: "nearest" });
      search.setAttribute("aria-activedescendant", items[active].id);
    } else if (event.key === "Enter") {
      event.preventDefault(); // never sends the form half-filled
      if (!results.hidden && options.length) {
        choose(options[Math.max(active, 0)]);
      }
    } else if (event.key === "Escape") {
      closeResults();
    }
  });
  search.addEventListener("blur", () => window.setTimeout(closeResults, 150));
  $("change-enterprise").addEventListener("click", () => {
    form.elements.enterprise_id.value = "";
    $("chosen-enterprise").classList.add("d-none");
    $("enterprise-search-box").classList.remove("d-none");
    search.value = "";
    search.focus();
    saveDraft();
  });
  async function refreshOfflineList() {
    try {
      const response = await fetch(form.dataset.enterprisesUrl, { headers: { Accept: "application/json" } });
      if (response.ok && !response.redirected) {
        localStorage.setItem(listKey, JSON.stringify((await response.json()).items));
      }
    } catch (_error) {
      // offline: keep the list saved last time
    }
  }

  // ---- The draft: saved as the officer types, restored after a reload. ----
  const draftKey = `crm-visit-draft:${userId}`;
  let draftTimer = null;
  let draftHere = false; // the draft is this page's: put back here, or typed here
  function saveDraft() {
    if (!offline) {
      return; // a stored visit being changed keeps no draft
    }
    window.clearTimeout(draftTimer);
    draftHere = true;
    draftTimer = window.setTimeout(() => {
      const entries = fieldEntries();
      if (nothingTyped(entries)) {
        // A form just emptied for the next visit is no draft: reopened, it would say one was
        // restored when there is nothing in it.
        localStorage.removeItem(draftKey);
        draftHere = false;
        return;
      }
      const draft = {
        entries,
        enterprise: { name: $("chosen-name").textContent, county: $("chosen-county").textContent },
        files: pendingFiles.length, // not the files themselves: too large for this storage
        saved: Date.now(),
      };
      localStorage.setItem(draftKey, JSON.stringify(draft));
    }, 300);
  }
  const TYPED = /^(enterprise_id|summary|people_met|next_step|followup_title|location|policy_ids|companion_ids|problems-.*|policy_note_.*)$/;
  function nothingTyped(entries) {
    return entries.every(([name, value]) => !TYPED.test(name) || !String(value).trim());
  }
  function fill(entries, enterprise) {
    const rows = new Set(entries.map(([name]) => name.match(/^problems-(\d+)-/)).filter(Boolean).map((m) => m[1]));
    problems.replaceChildren();
    nextProblem = 0;
    const renamed = {};
    for (const index of [...rows].sort((a, b) => a - b)) {
      renamed[index] = String(nextProblem);
      addProblem();
    }
    $("no-problems").hidden = rows.size > 0;
    for (const box of form.querySelectorAll("input[type=checkbox]")) {
      box.checked = false;
      if (box.dataset.note) {
        $(box.dataset.note).hidden = true;
      }
    }
    for (let [name, value] of entries) {
      name = name.replace(/^problems-(\d+)-/, (_m, index) => `problems-${renamed[index]}-`);
      const control = form.elements[name];
      if (control instanceof RadioNodeList) {
        for (const option of control) {
          if (option.value === value) {
            option.checked = true;
            option.dispatchEvent(new Event("change", { bubbles: true }));
          }
        }
      } else if (control && (control.type === "checkbox" || control.type === "radio")) {
        control.checked = true;
        control.dispatchEvent(new Event("change", { bubbles: true }));
      } else if (control) {
        control.value = value;
      }
    }
    const chosen = form.elements.enterprise_id.value;
    $("chosen-name").textContent = chosen ? enterprise.name : "";
    $("chosen-county").textContent = chosen ? enterprise.county : "";
    $("chosen-enterprise").classList.toggle("d-none", !chosen);
    $("enterprise-search-box").classList.toggle("d-none", Boolean(chosen));
  }
  // A draft is put back by itself where it fits the page: the form opened for the draft's own
  // enterprise, or for none. Opened for another enterprise (from its page), the form keeps that
  // one, and the draft is only offered: restoring it is the officer's choice.
  function restoreDraft() {
    const draft = JSON.parse(localStorage.getItem(draftKey) || "null");
    if (!draft || form.dataset.posted === "true") {
      return;
    }
    const chosen = form.elements.enterprise_id.value;
    const drafted = (draft.entries.find(([name]) => name === "enterprise_id") || [])[1] || "";
    if (chosen && drafted && drafted !== chosen) {
      $("draft-elsewhere-name").textContent = draft.enterprise.name;
      $("draft-elsewhere").hidden = false;
      return;
    }
    if (chosen && !drafted) {
      const here = { name: $("chosen-name").textContent, county: $("chosen-county").textContent };
      fill(draft.entries.filter(([name]) => name !== "enterprise_id").concat([["enterprise_id", chosen]]), here);
    } else {
      fill(draft.entries, draft.enterprise);
    }
    draftHere = true;
    $("draft-restored").hidden = false;
    $("draft-files").hidden = !draft.files;
  }
  function clearDraft() {
    window.clearTimeout(draftTimer);
    localStorage.removeItem(draftKey);
  }
  form.addEventListener("input", saveDraft);
  form.addEventListener("change", saveDraft);
  $("draft-discard").addEventListener("click", () => {
    clearDraft();
    window.location.reload();
  });
  $("draft-elsewhere-restore").addEventListener("click", () => {
    const draft = JSON.parse(localStorage.getItem(draftKey) || "null");
    $("draft-elsewhere").hidden = true;
    if (draft) {
      fill(draft.entries, draft.enterprise);
      draftHere = true;
      $("draft-restored").hidden = false;
    }
  });
  $("draft-elsewhere-discard").addEventListener("click", () => {
    clearDraft();
    $("draft-elsewhere").hidden = true;
  });
  // 取消: the visit is given up, and its draft with it (once asked, when something was typed).
  // A draft only offered here (another enterprise's) is not this page's to give up.
  const cancel = $("visit-cancel");
  if (cancel && offline) {
    cancel.addEventListener("click", (event) => {
      if (!draftHere) {
        return;
      }
      if (localStorage.getItem(draftKey) && !window.confirm(messages.discard_draft)) {
        event.preventDefault();
        return;
      }
      clearDraft();
    });
  }

  // ---- The outbox (IndexedDB): every visit goes there first, and leaves once stored. ----
  // Opened as every page opens it (static/js/app.js). A cached app.js older than this file
  // lacks it: the visit is still kept, the store opened here the same way.
  const openOutbox = window.crmOutbox || (() => new Promise((resolve, reject) => {
    const request = indexedDB.open("crm-visits", 1);
    request.onupgradeneeded = () => request.result.createObjectStore("outbox", { keyPath: "id" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  }));
  async function outbox(mode, action) {
    const db = await openOutbox();
    return new Promise((resolve, reject) => {
      const transaction = db.transaction("outbox", mode);
      const request = action(transaction.objectStore("outbox"));
      transaction.oncomplete = () => resolve(request && request.result);
      transaction.onerror = () => reject(transaction.error);
    });
  }
  const putEntry = (entry) => outbox("readwrite", (store) => store.put(entry));
  const deleteEntry = (id) => outbox("readwrite", (store) => store.delete(id));
  const allEntries = async () => (await outbox("readonly", (store) => store.getAll())).filter((e) => e.user === userId);

  async function renderOutbox() {
    const entries = await allEntries();
    $("outbox").hidden = entries.length === 0;
    // Those refused wait for a correction, not for the network: counted apart, and 同步 is
    // offered only while some are waiting to be sent.
    const refused = entries.filter((entry) => entry.rejected).length;
    const waiting = entries.length - refused;
    const counts = $("outbox-count").dataset;
    $("outbox-count").textContent = [
      waiting ? format(counts.template, { n: waiting }) : "",
      refused ? format(counts.refusedTemplate, { n: refused }) : "",
    ].filter(Boolean).join(" · ");
    $("outbox-sync").hidden = waiting === 0;
    const list = $("outbox-list");
    list.replaceChildren();
    for (const entry of entries) {
      const item = document.createElement("li");
      item.className = "d-flex flex-wrap align-items-center gap-2 py-1 border-top outbox-item";
      const text = document.createElement("span");
      text.className = "me-auto";
      const date = (entry.entries.find(([name]) => name === "visit_date") || [])[1] || "";
      text.textContent = `${date} ${entry.enterprise.name || ""} · `;
      const status = document.createElement("span");
      status.className = `outbox-status ${entry.rejected ? "text-danger" : "text-body-secondary"}`;
      status.textContent = entry.rejected
        ? format(messages.rejected, { reason: entry.rejected })
        : entry.id === sendingId
          ? messages.sending
          : entry.tried
            ? format(messages.tried, { time: clock(entry.tried) })
            : messages.waiting;
      text.append(status);
      item.append(text);
      if (entry.rejected) {
        const fix = document.createElement("button");
        fix.type = "button";
        fix.className = "btn btn-outline-primary";
        fix.textContent = messages.fix;
        fix.addEventListener("click", () => loadEntry(entry));
        item.append(fix);
      }
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn btn-outline-danger";
      remove.textContent = messages.remove;
      remove.addEventListener("click", async () => {
        if (window.confirm(messages.confirm_remove)) {
          await deleteEntry(entry.id);
          renderOutbox();
        }
      });
      item.append(remove);
      list.append(item);
    }
  }
  function clock(time) {
    const at = new Date(time);
    return `${String(at.getHours()).padStart(2, "0")}:${String(at.getMinutes()).padStart(2, "0")}`;
  }
  // The one being sent now, said as such in the list; one that could not be sent says when.
  let sendingId = null;
  async function sendShown(entry, token, onProgress) {
    sendingId = entry.id;
    renderOutbox();
    try {
      const result = await sendEntry(entry, token, onProgress);
      if (result.kind !== "stored" && result.kind !== "rejected") {
        await putEntry({ ...result.entry, tried: Date.now() });
      }
      return result;
    } finally {
      sendingId = null;
    }
  }
  function loadEntry(entry) {
    const busy = form.elements.summary.value.trim() || form.elements.enterprise_id.value;
    if (busy && form.elements.client_uuid.value !== entry.id && !window.confirm(messages.replace_form)) {
      return;
    }
    fill(entry.entries, entry.enterprise);
    pendingFiles = entry.files.slice();
    renderFiles();
    showErrors(entry.fields);
  }

  // A number already taken by a different visit (a page kept from an earlier day, say): the
  // visit gets a new number and is sent again; it is the same officer's new visit.
  function renumbered(entry) {
    const id = newUuid();
    const entries = entry.entries.map(([name, value]) => [name, name === "client_uuid" ? id : value]);
    return { ...entry, id, entries };
  }
  async function sendEntry(entry, token, onProgress) {
    let result = await send(entry, token, onProgress);
    if (result.kind === "renumber") {
      const fresh = renumbered(entry);
      await putEntry(fresh);
      await deleteEntry(entry.id);
      entry = fresh;
      result = await send(entry, token, onProgress);
    }
    if (result.kind === "stored") {
      await deleteEntry(entry.id);
    }
    return { ...result, entry };
  }
  async function freshToken() {
    const response = await fetch(form.dataset.syncTokenUrl, { headers: { Accept: "application/json" }, cache: "no-store" });
    if (response.redirected || !response.ok) {
      return { login: true };
    }
    const answer = await response.json();
    return String(answer.user_id) === userId ? { token: answer.csrf_token } : { login: true };
  }

  let syncing = false;
  async function syncAll() {
    if (syncing || !navigator.onLine) {
      return;
    }
    syncing = true;
    try {
      const entries = (await allEntries()).filter((entry) => !entry.rejected);
      if (!entries.length) {
        return;
      }
      const answer = await freshToken().catch(() => ({}));
      if (answer.login) {
        $("send-status").textContent = messages.login;
        return;
      }
      if (!answer.token) {
        return;
      }
      for (const entry of entries) {
        const result = await sendShown(entry, answer.token);
        if (result.kind === "rejected") {
          await putEntry({ ...entry, rejected: result.message, fields: result.fields });
        } else if (result.kind === "login" || result.network) {
          break; // the next entries would fail the same way; they stay queued
        }
      }
      if (!(await allEntries()).some((entry) => !entry.rejected)) {
        $("send-status").textContent = ""; // what went wrong before is past: all are sent
      }
    } finally {
      syncing = false;
      renderOutbox();
    }
  }

  // What is missing is told all at once, before the visit goes to the outbox (the server
  // would refuse it, perhaps hours later when the network returns).
  function checkBeforeSending() {
    const fields = {};
    const missing = (name, message) => {
      const control = form.elements[name];
      if (control && !control.value.trim()) {
        fields[name] = [message];
      }
    };
    missing("enterprise_id", messages.choose_enterprise);
    missing("visit_date", messages.enter_date);
    missing("summary", messages.write_summary);
    for (const row of problems.querySelectorAll("[data-problem-row]")) {
      const category = row.querySelector("select[name$='-category']");
      const title = row.querySelector("input[name$='-title']");
      missing(category.name, messages.choose_category);
      missing(title.name, messages.problem_title);
    }
    return fields;
  }
  function startNewVisit() {
    clearDraft();
    form.reset();
    datesFromToday(); // a tablet left open overnight dates the next visit today
    form.elements.client_uuid.value = newUuid();
    form.elements.enterprise_id.value = "";
    fill([["visit_date", form.elements.visit_date.defaultValue], ["mode", "onsite"]], {});
    pendingFiles = [];
    renderFiles();
  }
  function newUuid() {
    if (window.crypto.randomUUID) {
      return window.crypto.randomUUID();
    }
    const bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  let submitting = false; // a second tap while the first is stored and sent does nothing
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submitting) {
      return;
    }
    const local = checkBeforeSending();
    if (Object.keys(local).length) {
      showErrors(local);
      return;
    }
    submitting = true;
    syncing = true; // the outbox's own round leaves this visit to this send
    try {
      await storeAndSend();
    } finally {
      submitting = false;
      syncing = false;
    }
  });
  async function storeAndSend() {
    clearErrors();
    const entry = {
      id: form.elements.client_uuid.value,
      user: userId,
      entries: fieldEntries(),
      files: pendingFiles.slice(),
      enterprise: { name: $("chosen-name").textContent, county: $("chosen-county").textContent },
      created: Date.now(),
    };
    await putEntry(entry); // kept on the device before anything else can go wrong
    clearDraft();
    const button = $("visit-submit");
    button.disabled = true;
    $("send-status").textContent = messages.sending;
    progress(0);
    let result = { kind: "later" };
    try {
      const answer = navigator.onLine ? await freshToken() : {};
      result = answer.login ? { kind: "login" } : answer.token ? await sendShown(entry, answer.token, progress) : result;
    } catch (_error) {
      result = { kind: "later" };
    }
    progress(null);
    button.disabled = false;
    if (result.kind === "stored") {
      $("send-status").textContent = messages.saved;
      window.location.assign(result.url);
      return;
    }
    if (result.kind === "rejected") {
      await putEntry({ ...result.entry, rejected: result.message, fields: result.fields });
      saveDraft();
      showErrors(result.fields);
      $("send-status").textContent = "";
    } else {
      $("send-status").textContent = result.kind === "login" ? messages.login : result.message || messages.queued;
      startNewVisit();
      // A second tap of a double tap would find the new, empty form and mark it all missing:
      // the button waits a moment before it takes the next visit.
      button.disabled = true;
      window.setTimeout(() => {
        button.disabled = false;
      }, 1500);
    }
    renderOutbox();
  }

  // The page may come from the offline cache of an earlier day: today is the device's, for
  // the visit's date (and the latest it may be) and the earliest follow-up date.
  function deviceToday() {
    const now = new Date();
    const two = (n) => String(n).padStart(2, "0");
    return `${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())}`;
  }
  function datesFromToday() {
    const today = deviceToday();
    const date = form.elements.visit_date;
    if (date.max && date.max < today) {
      if (date.defaultValue === date.max) {
        date.defaultValue = today;
      }
      if (date.value === date.max) {
        date.value = today;
      }
      date.max = today;
    }
    const due = form.elements.followup_due_on;
    if (due && due.min && due.min < today) {
      due.min = today;
    }
  }

  // ---- Start: restore the draft, show the outbox, keep the offline list fresh, sync. ----
  function showNetwork() {
    $("network-status").hidden = navigator.onLine;
  }
  window.addEventListener("online", () => {
    showNetwork();
    $("send-status").textContent = "";
    syncAll();
  });
  window.addEventListener("offline", showNetwork);
  $("outbox-sync").addEventListener("click", syncAll);
  showNetwork();
  if (form.dataset.posted !== "true") {
    form.elements.client_uuid.value = newUuid(); // the page may come from the offline cache
    datesFromToday();
  }
  restoreDraft();
  countProblems();
  renderOutbox().then(syncAll);
  refreshOfflineList();
  window.setInterval(syncAll, 60000);
})();
