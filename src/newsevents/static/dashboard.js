// The error search: a case-insensitive substring filter over each row's text; keeps #error-count in step.
// Inlined into the page by newsevents.dashboard, so it must run with no network and no modules.
(function () {
  var input = document.getElementById("error-search"), count = document.getElementById("error-count");
  var rows = Array.prototype.slice.call(document.querySelectorAll("#error-table tbody tr"));
  function update() {
    var q = input.value.trim().toLowerCase(), shown = 0;
    rows.forEach(function (row) {
      row.hidden = q !== "" && row.textContent.toLowerCase().indexOf(q) === -1;
      shown += row.hidden ? 0 : 1;
    });
    count.textContent = shown + " of " + rows.length + " errors shown";
  }
  input.addEventListener("input", update);
  update();
})();
