// ladder review: keyboard shortcuts, and every label POSTed the moment it is given.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const page = document.body.dataset.page;
  const item = document.getElementById("item");
  const shownAt = performance.now();
  let pending = Promise.resolve();

  function post(url, body) {
    const sent = pending.then(() => fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    })).then(async (r) => {
      if (!r.ok) { throw new Error(r.status + " " + (await r.text())); }
      return r.status === 204 ? null : r.json();
    });
    pending = sent.catch(() => null);  // the next write waits for this one, failed or not
    return sent;
  }

  function say(text) {
    const saved = document.getElementById("saved");
    if (saved) { saved.textContent = text; }
  }

  function go(id) {  // navigate once every write has reached the server
    const link = document.getElementById(id);
    if (link) { pending.then(() => { window.location.href = link.href; }); }
  }

  const form = document.getElementById("rater-form");
  if (form) {
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      post("/api/rater", { name: document.getElementById("rater-name").value })
        .then(() => window.location.reload(), (err) => say(String(err)));
    });
    return;
  }
  if (!item) { return; }
  const seconds = () => (performance.now() - shownAt) / 1000;

  if (page === "rate") {
    const state = {
      passed: item.dataset.passed === "" ? null : item.dataset.passed === "true",
      score: item.dataset.score === "" ? null : Number(item.dataset.score),
    };
    const comment = document.getElementById("comment");
    function show() {
      item.querySelectorAll("button[data-passed]").forEach((b) => b.classList.toggle("on", String(state.passed) === b.dataset.passed));
      item.querySelectorAll("button[data-score]").forEach((b) => b.classList.toggle("on", String(state.score) === b.dataset.score));
    }
    function save() {
      say("saving…");
      post("/api/label", {
        generation_id: Number(item.dataset.generation), passed: state.passed, score: state.score,
        comment: comment.value, seconds: seconds(),
      }).then((r) => {
        document.getElementById("progress").textContent = r.rated + " / " + r.total + " rated";
        say("saved");
      }, (err) => say("not saved: " + err));
    }
    item.querySelectorAll("button[data-passed]").forEach((b) => b.addEventListener("click", () => { state.passed = b.dataset.passed === "true"; show(); save(); }));
    item.querySelectorAll("button[data-score]").forEach((b) => b.addEventListener("click", () => { state.score = Number(b.dataset.score); show(); save(); }));
    comment.addEventListener("change", save);
    comment.addEventListener("keydown", (e) => { if (e.key === "Escape") { comment.blur(); } });
    document.addEventListener("keydown", (e) => {
      if (e.target.closest("textarea, input, select") || e.ctrlKey || e.metaKey || e.altKey) { return; }
      if (e.key === "j") { go("next"); }
      else if (e.key === "k") { go("prev"); }
      else if (e.key === "p" || e.key === "f") { state.passed = e.key === "p"; show(); save(); }
      else if (/^[1-5]$/.test(e.key)) { state.score = Number(e.key); show(); save(); }
    });
    show();
  }

  if (page === "ab") {
    const keys = { "1": "first", "2": "second", "3": "tie", "0": "both_bad" };
    function show(choice) {
      item.querySelectorAll("button[data-choice]").forEach((b) => b.classList.toggle("on", b.dataset.choice === choice));
    }
    function choose(choice) {
      show(choice);
      say("saving…");
      post("/api/choice", {
        pair: item.dataset.pair, choice: choice, position: Number(item.dataset.position), seconds: seconds(),
      }).then(() => {
        say("saved");
        const n = Number(item.dataset.n), pos = Number(item.dataset.position);
        window.location.href = "/ab?i=" + Math.min(pos + 1, n) + item.dataset.query;
      }, (err) => say("not saved: " + err));
    }
    item.querySelectorAll("button[data-choice]").forEach((b) => b.addEventListener("click", () => choose(b.dataset.choice)));
    document.addEventListener("keydown", (e) => {
      if (e.target.closest("textarea, input, select") || e.ctrlKey || e.metaKey || e.altKey) { return; }
      if (e.key === "j") { go("next"); }
      else if (e.key === "k") { go("prev"); }
      else if (keys[e.key]) { choose(keys[e.key]); }
    });
    show(item.dataset.choice);
  }
  // the shortcuts are live from here on: a key pressed before this (the script is deferred) is lost
  document.body.dataset.ready = "true";
})();
