// Behaviour shared by every page. No inline scripts anywhere (the CSP forbids them).
"use strict";

// <form data-confirm="…">: ask before a destructive or irreversible action.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
