// The admin console: signs the administrator in with Entra (authorization code + PKCE, @azure/msal-browser),
// then renders one page per section from the admin API, with the user's access token.
import { InteractionRequiredAuthError, PublicClientApplication, type AccountInfo } from "@azure/msal-browser";
import { AdminApi } from "../../client/admin-api.js";
import { errorBox, h, replace } from "./dom.js";
import { PAGES, type PageContext } from "./pages.js";

interface SignInSettings { clientId: string; authority: string; redirectUri: string; scopes: string[]; adminRole: string }

const BASE = "/api/console/";
const main = document.getElementById("main")!;

async function start(): Promise<void> {
  const settings = (await (await fetch(`${BASE}config.json`)).json()) as SignInSettings;
  const msal = new PublicClientApplication({
    auth: {
      clientId: settings.clientId,
      authority: settings.authority,
      knownAuthorities: [new URL(settings.authority).host],
      redirectUri: settings.redirectUri,
      postLogoutRedirectUri: settings.redirectUri,
    },
    cache: { cacheLocation: "sessionStorage" },
  });
  await msal.initialize();
  const result = await msal.handleRedirectPromise();
  const account: AccountInfo | undefined = result?.account ?? msal.getAllAccounts()[0];
  if (!account) return signInPage(() => void msal.loginRedirect({ scopes: settings.scopes, redirectStartPage: location.href }));
  msal.setActiveAccount(account);

  const token = async () => {
    try {
      return (await msal.acquireTokenSilent({ scopes: settings.scopes, account })).accessToken;
    } catch (error) {
      if (error instanceof InteractionRequiredAuthError) await msal.acquireTokenRedirect({ scopes: settings.scopes, account });
      throw error;
    }
  };
  replace(document.getElementById("account")!,
    h("span", { class: "muted" }, account.name ?? account.username),
    h("button", { class: "secondary", type: "button", onclick: () => void msal.logoutRedirect({ account }) }, "Sign out"));
  const api = new AdminApi(token);
  buildNav();
  window.addEventListener("popstate", () => void render(api, settings.adminRole));
  document.addEventListener("click", (event) => {
    const link = (event.target as Element).closest?.("a[data-link]") as HTMLAnchorElement | null;
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    navigate(link.getAttribute("href")!);
  });
  navigateHandler = () => void render(api, settings.adminRole);
  await render(api, settings.adminRole);
}

let navigateHandler: () => void = () => undefined;
let generation = 0;

function navigate(href: string): void {
  history.pushState(null, "", href);
  navigateHandler();
}

function signInPage(signIn: () => void): void {
  replace(main,
    h("h1", {}, "Sign in"),
    h("p", {}, "The console needs an administrator of the bridge: sign in with your organization account."),
    h("button", { type: "button", id: "sign-in", onclick: signIn }, "Sign in with Microsoft Entra ID"));
}

function buildNav(): void {
  const nav = document.getElementById("nav")!;
  replace(nav, h("ul", {}, PAGES.filter((p) => p.nav).map((p) => h("li", {}, h("a", { href: `${BASE}${p.path}`, "data-link": true }, p.title)))));
  nav.hidden = false;
}

async function render(api: AdminApi, adminRole: string): Promise<void> {
  const current = ++generation;
  const rest = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : "";
  const [section = "", ...params] = rest.split("/").filter(Boolean).map(decodeURIComponent);
  const page = PAGES.find((p) => p.path === section) ?? PAGES[0]!;
  for (const link of document.querySelectorAll("nav a")) {
    if (link.getAttribute("href") === `${BASE}${page.path}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${page.title} · Identity Bridge console`;
  const ctx: PageContext = { api, params, navigate, alive: () => current === generation, base: BASE };
  replace(main, h("h1", {}, page.title), h("p", { class: "muted" }, "Loading…"));
  try {
    await page.render(main, ctx);
  } catch (error) {
    if (current !== generation) return;
    replace(main, h("h1", {}, page.title), errorBox(error, adminRole));
  }
  if (current === generation) main.focus();
}

start().catch((error: unknown) => replace(main, h("h1", {}, "The console could not start"), errorBox(error)));
