// The certification board: drag a card onto a column to move the case there. The same moves
// are in each card's stage menu (for touch and keyboard); a drop uses the menu's entry, so
// only the moves the viewer may make are possible, and moves that need a certificate number
// or a reason open the case's page.
(function () {
  "use strict";
  const board = document.getElementById("kanban");
  if (!board) return;
  // A card reached by the keyboard comes wholly into view: the browser scrolls the board only
  // until some of the focused link or button shows, which may leave the rest of it cut off.
  // (A tap leaves the board where the finger put it.)
  board.addEventListener("focusin", function (event) {
    const card = event.target.closest(".kanban-card");
    if (card && event.target.matches(":focus-visible")) {
      card.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  });
  let dragged = null;
  board.addEventListener("dragstart", function (event) {
    dragged = event.target.closest(".kanban-card");
    if (dragged) event.dataTransfer.setData("text/plain", dragged.id);
  });
  board.addEventListener("dragover", function (event) {
    const column = event.target.closest(".kanban-column");
    if (dragged && column && dragged.dataset.moves.split(" ").includes(column.dataset.stage)) {
      event.preventDefault();
      column.classList.add("drop-target");
    }
  });
  board.addEventListener("dragleave", function (event) {
    const column = event.target.closest(".kanban-column");
    if (column) column.classList.remove("drop-target");
  });
  board.addEventListener("drop", function (event) {
    const column = event.target.closest(".kanban-column");
    if (!dragged || !column) return;
    event.preventDefault();
    column.classList.remove("drop-target");
    const entry = dragged.querySelector('[data-move="' + column.dataset.stage + '"]');
    if (!entry) return;
    if (entry.tagName === "FORM") entry.submit();
    else window.location.href = entry.href;
  });
})();
