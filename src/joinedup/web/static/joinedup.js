// Start the NHS.UK frontend components and send the CSRF token with every htmx request.
import { initAll } from "./nhsuk-frontend.min.js";

initAll();

document.body.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.headers["X-CSRF-Token"] = meta.getAttribute("content");
  }
});
