/// <reference lib="dom" />
/**
 * The explorer page: reads a deployment through any JSON-RPC endpoint (given on the page or in the URL,
 * `?rpc=…&settlement=…`) and shows its models, operators and requests, auditing a request in the browser with the
 * SDK's audit. Nothing is trusted from a server: every value shown is read from the chain by this page.
 */
import { checkConfig, configFromQuery, queryOf, type ExplorerConfig } from "./config.js";
import { connect } from "./chain/deployment.js";
import { createExplorer, type Explorer } from "./data/context.js";
import { parseRoute, section, type Route } from "./router.js";
import { append, h } from "./views/dom.js";
import { shortHash } from "./views/format.js";
import { activityView } from "./views/activity.js";
import { batchesView } from "./views/batches.js";
import { modelsView } from "./views/models.js";
import { operatorsView } from "./views/operators.js";
import { receiptView } from "./views/receipt.js";
import { requestView } from "./views/request.js";
import { requestsView } from "./views/requests.js";
import type { View } from "./views/view.js";

/** An element the page's HTML has, by id. */
function byId(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element;
}

/** A form field the page's HTML has, by id. */
function field(id: string): HTMLInputElement {
  const element = byId(id);
  if (!(element instanceof HTMLInputElement)) throw new Error(`#${id} is not an input`);
  return element;
}

const main = byId("main");
const viewBox = byId("view");
const status = byId("status");
const footer = byId("footer");

/** The view of a route. */
function viewOf(explorer: Explorer, route: Route): Promise<View> {
  switch (route.view) {
    case "models":
      return modelsView(explorer, route.focus);
    case "operators":
      return operatorsView(explorer, route.operator);
    case "requests":
      return requestsView(
        explorer,
        route.model !== undefined
          ? { model: route.model }
          : route.operator !== undefined
            ? { operator: route.operator }
            : undefined,
      );
    case "request":
      return requestView(explorer, route.requestId);
    case "receipt":
      return Promise.resolve(receiptView(explorer));
    case "batches":
      return batchesView(explorer, route.operator);
    case "activity":
      return activityView(explorer, route.model);
    case "not-found":
      return Promise.resolve({
        title: "Not found",
        content: [h("p", {}, `There is no view at "${route.path}".`)],
      });
  }
}

let renders = 0;
let firstRenderMs: number | undefined;

/** Render the route in the location's hash; the first render's time (from navigation start) is recorded. */
async function render(explorer: Explorer): Promise<void> {
  const ticket = ++renders;
  const route = parseRoute(location.hash);
  for (const a of document.querySelectorAll<HTMLAnchorElement>("nav a[data-section]")) {
    if (a.dataset.section === section(route)) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  main.dataset.ready = "false";
  main.setAttribute("aria-busy", "true");
  status.textContent = "Reading the chain…";
  let view: View;
  try {
    view = await viewOf(explorer, route);
  } catch (error) {
    view = { title: "Could not read the chain", content: [h("p", { role: "alert" }, describe(error))] };
  }
  if (ticket !== renders) return;
  const heading = h("h1", { tabindex: "-1" }, view.title);
  viewBox.replaceChildren(heading);
  append(viewBox, view.content);
  document.title = `${view.title} · OPG explorer`;
  main.dataset.view = route.view;
  main.dataset.ready = "true";
  main.setAttribute("aria-busy", "false");
  status.textContent = "";
  if (firstRenderMs === undefined) {
    firstRenderMs = Math.round(performance.now());
    document.documentElement.dataset.firstRenderMs = String(firstRenderMs);
  } else {
    heading.focus();
  }
  if (route.view === "models" && route.focus !== undefined) {
    document.getElementById(`model-${route.focus}`)?.scrollIntoView({ block: "start" });
  }
  showFooter(explorer);
}

function showFooter(explorer: Explorer): void {
  const { deployment, logs } = explorer;
  footer.replaceChildren();
  append(footer, [
    `Chain ${deployment.chainId} · settlement `,
    shortHash(deployment.addresses.settlement),
    ` · events from block ${deployment.fromBlock} (${logs.stats.logs} logs, ${logs.stats.calls} range reads`,
    logs.stats.restored > 0 ? `, ${logs.stats.restored} restored from this tab's cache` : "",
    ")",
    firstRenderMs === undefined ? "" : ` · first view in ${firstRenderMs} ms`,
  ]);
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0] ?? message;
}

/** Wire the connection form: it writes the configuration into the URL, and the page reloads from it. */
function wireForms(rpc: string, config: ExplorerConfig | undefined): void {
  const form = byId("connect");
  field("rpc").value = rpc;
  if (config !== undefined) {
    field("settlement").value = config.settlement;
    if (config.fromBlock !== undefined) field("from").value = config.fromBlock.toString();
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const checked = checkConfig(
      field("rpc").value.trim(),
      field("settlement").value.trim(),
      field("from").value.trim(),
    );
    if (typeof checked === "string") {
      byId("connect-error").textContent = checked;
      return;
    }
    location.assign(`${location.pathname}${queryOf(checked)}${location.hash || "#/models"}`);
  });
  byId("goto").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = field("goto-id").value.trim().replace(/^#/, "");
    if (/^\d+$/.test(id)) location.hash = `#/request/${id}`;
  });
  byId("skip").addEventListener("click", () => {
    (viewBox.querySelector<HTMLElement>("h1") ?? main).focus();
  });
}

async function boot(): Promise<void> {
  const parsed = configFromQuery(location.search);
  const config = "config" in parsed ? parsed.config : undefined;
  wireForms("config" in parsed ? parsed.config.rpc : parsed.rpc, config);
  if (config === undefined) {
    status.textContent = "missing" in parsed ? parsed.missing : "";
    main.dataset.ready = "true";
    field("settlement").focus();
    return;
  }
  status.textContent = `Connecting to ${config.rpc}…`;
  let explorer: Explorer;
  try {
    explorer = createExplorer(await connect(config), sessionStorage);
  } catch (error) {
    status.textContent = "";
    byId("connect-error").textContent = `Could not open this deployment: ${describe(error)}`;
    main.dataset.ready = "true";
    return;
  }
  window.addEventListener("hashchange", () => void render(explorer));
  await render(explorer);
}

void boot();
