// Sorting and filtering of the tables; the page reads the same without this script.
(function () {
  "use strict";

  function sortKey(row, index, numeric) {
    const cell = row.cells[index];
    const raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
    if (!numeric) return raw.toLowerCase();
    const value = parseFloat(raw);
    return Number.isNaN(value) ? -Infinity : value;
  }

  function sortBy(table, th, index) {
    const ascending = th.getAttribute("aria-sort") !== "ascending";
    for (const other of th.parentNode.cells) other.removeAttribute("aria-sort");
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const numeric = th.dataset.type === "number";
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    rows.sort(function (a, b) {
      const x = sortKey(a, index, numeric);
      const y = sortKey(b, index, numeric);
      const order = numeric ? x - y : String(x).localeCompare(String(y));
      return ascending ? order : -order;
    });
    body.append(...rows);
  }

  function makeSortable(table) {
    Array.from(table.tHead.rows[0].cells).forEach(function (th, index) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.textContent = th.textContent;
      button.title = "sort by " + th.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () { sortBy(table, th, index); });
    });
  }

  function makeFilter(form) {
    const table = document.getElementById(form.dataset.filter);
    if (!table) return;
    const rows = Array.from(table.tBodies[0].rows);
    const output = form.querySelector("output");
    const search = form.querySelector("input[type=search]");
    function apply() {
      const wanted = {};
      form.querySelectorAll("fieldset[data-attribute]").forEach(function (set) {
        wanted[set.dataset.attribute] = new Set(
          Array.from(set.querySelectorAll("input:checked")).map(function (box) { return box.value; })
        );
      });
      const words = search ? search.value.trim().toLowerCase() : "";
      let shown = 0;
      for (const row of rows) {
        const keep = Object.keys(wanted).every(function (name) { return wanted[name].has(row.dataset[name]); })
          && (!words || row.textContent.toLowerCase().includes(words));
        row.hidden = !keep;
        if (keep) shown += 1;
      }
      output.textContent = shown + " of " + rows.length + " rules shown";
    }
    form.addEventListener("input", apply);
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    form.hidden = false;
    apply();
  }

  document.querySelectorAll("table[data-sortable]").forEach(makeSortable);
  document.querySelectorAll("form[data-filter]").forEach(makeFilter);
  document.documentElement.dataset.enhanced = "true";
})();
