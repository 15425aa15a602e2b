// infra/**/*.bicep, read with the tree-sitter-bicep grammar: syntax, the resources and properties
// issue 6 requires, app settings against the configuration module, and role ids against their names.
import { readFileSync, readdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { APP_SETTING_NAMES, REQUIRED_SETTING_NAMES } from "../../shared/config/schema.js";
import { at, find, identifiers, literal, parseBicep, properties, resourcesOfType, syntaxErrors, type BicepFile } from "./bicep.js";

const root = resolve(import.meta.dirname, "../..");
const infra = join(root, "infra");
const bicepFiles = [join(infra, "main.bicep"), ...readdirSync(join(infra, "modules")).filter((f) => f.endsWith(".bicep")).map((f) => join(infra, "modules", f))];
const parsed = new Map(bicepFiles.map((f) => [relative(infra, f), parseBicep(f)]));
const file = (name: string): BicepFile => parsed.get(name) ?? (() => { throw new Error(`no ${name}`); })();
const main = file("main.bicep");

/** The single resource of a type in a file, with its body as plain values. */
function only(f: BicepFile, type: string) {
  const found = resourcesOfType(f, type).filter((r) => !r.existing);
  expect(found, `${f.path}: one ${type}`).toHaveLength(1);
  return found[0]!;
}

// Microsoft's built-in role definition ids (identical in every tenant).
const BUILT_IN_ROLES: Record<string, string> = {
  "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
  "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
  "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
  "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
  "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
  "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
};
const camel = (roleName: string) => roleName.split(" ").map((w, i) => (i === 0 ? w.toLowerCase() : w)).join("");

describe("infra Bicep", () => {
  it("every file parses without a syntax error", () => {
    expect(bicepFiles.length).toBeGreaterThanOrEqual(7);
    for (const f of parsed.values()) expect(syntaxErrors(f)).toEqual([]);
  });

  it("main.bicep deploys to one resource group and wires every module it declares", () => {
    expect(main.root.namedChildren.find((n) => n.type === "target_scope_assignment")?.text).toBe("targetScope = 'resourceGroup'");
    const modules = main.declarations.filter((d) => d.kind === "module").map((d) => d.target);
    expect(modules.sort()).toEqual(["modules/function-app.bicep", "modules/identity.bicep", "modules/keyvault.bicep", "modules/monitoring.bicep", "modules/operations.bicep", "modules/rbac.bicep", "modules/storage.bicep"]);
    // Each module's params exist in the module and every module param without a default is given.
    for (const mod of main.declarations.filter((d) => d.kind === "module")) {
      const target = file(mod.target!);
      const given = [...properties(at(mod.value, "params")).keys()];
      const declared = target.declarations.filter((d) => d.kind === "param");
      expect(given.filter((p) => !declared.some((d) => d.name === p)), mod.target).toEqual([]);
      expect(declared.filter((d) => !d.value && !given.includes(d.name)).map((d) => d.name), mod.target).toEqual([]);
    }
  });

  it("Function App: Flex Consumption (FC1), Linux, Node 22, user-assigned identity, deployment blob with identity auth", () => {
    const app = file("modules/function-app.bicep");
    const plan = literal(only(app, "Microsoft.Web/serverfarms").value) as Record<string, any>;
    expect(plan.sku).toEqual({ name: "FC1", tier: "FlexConsumption" });
    expect(plan.properties.reserved).toBe(true);
    const site = only(app, "Microsoft.Web/sites");
    const body = literal(site.value) as Record<string, any>;
    expect(body.kind).toBe("functionapp,linux");
    expect(body.identity.type).toBe("UserAssigned");
    expect(body.properties.httpsOnly).toBe(true);
    const config = body.properties.functionAppConfig;
    expect(config.runtime.name).toBe("node");
    expect(config.deployment.storage.type).toBe("blobContainer");
    expect(config.deployment.storage.authentication.type).toBe("UserAssignedIdentity");
    expect(config.scaleAndConcurrency).toHaveProperty("maximumInstanceCount");
    expect(config.scaleAndConcurrency).toHaveProperty("instanceMemoryMB");
    // The runtime version is a parameter allowed only 22 (Node 20 reached end of support on 2026-04-30), and
    // main passes 22 unless told otherwise.
    expect(config.runtime.version).toBe("nodeVersion");
    expect(find(app, "param", "nodeVersion").decorators).toContain("@allowed(['22'])");
    expect(find(main, "param", "nodeVersion").decorators).toContain("@allowed(['', '22'])");
    expect(at(find(main, "module", "functionApp").value, "params.nodeVersion")?.text).toBe("empty(nodeVersion) ? '22' : nodeVersion");
    // Site settings come from the secure appSettings object, one { name, value } per key.
    expect(at(site.value, "properties.siteConfig.appSettings")?.text).toBe("[for setting in items(appSettings): { name: setting.key, value: setting.value }]");
    expect(find(app, "param", "appSettings").decorators).toContain("@secure()");
    const tags = at(site.value, "tags")?.text ?? "";
    expect(tags).toContain("'azd-service-name': 'api'");
    for (const policy of resourcesOfType(app, "Microsoft.Web/sites/basicPublishingCredentialsPolicies")) {
      expect(literal(at(policy.value, "properties.allow"))).toBe(false);
    }
  });

  it("storage: no shared keys, TLS 1.2, no public blob access, a deployment container", () => {
    const storage = file("modules/storage.bicep");
    const account = literal(only(storage, "Microsoft.Storage/storageAccounts").value) as Record<string, any>;
    expect(account.properties).toMatchObject({
      allowSharedKeyAccess: false,
      minimumTlsVersion: "TLS1_2",
      allowBlobPublicAccess: false,
      supportsHttpsTrafficOnly: true,
    });
    only(storage, "Microsoft.Storage/storageAccounts/blobServices/containers");
  });

  it("Key Vault: RBAC authorization, soft delete, purge protection", () => {
    const vault = literal(only(file("modules/keyvault.bicep"), "Microsoft.KeyVault/vaults").value) as Record<string, any>;
    expect(vault.properties).toMatchObject({ enableRbacAuthorization: true, enableSoftDelete: true, enablePurgeProtection: true });
    expect(vault.properties.accessPolicies).toBeUndefined();
  });

  it("Application Insights: workspace-based with local auth off (Entra only)", () => {
    const monitoring = file("modules/monitoring.bicep");
    const appi = literal(only(monitoring, "Microsoft.Insights/components").value) as Record<string, any>;
    expect(appi.properties.DisableLocalAuth).toBe(true);
    expect(appi.properties.WorkspaceResourceId).toBe("workspace.id");
    only(monitoring, "Microsoft.OperationalInsights/workspaces");
  });

  it("the user-assigned identity exists and the app uses it for storage, telemetry and the SDK", () => {
    only(file("modules/identity.bicep"), "Microsoft.ManagedIdentity/userAssignedIdentities");
    const settings = literal(find(main, "var", "appSettings").value) as Record<string, string>;
    expect(settings.AzureWebJobsStorage__credential).toBe("managedidentity");
    expect(settings.AzureWebJobsStorage__clientId).toBe("identity.outputs.clientId");
    expect(settings.AZURE_CLIENT_ID).toBe("identity.outputs.clientId");
    expect(settings.APP_CLIENT_ID).toBe("appClientId"); // the app registration, never the identity
    expect(settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING).toBe("'ClientId=${identity.outputs.clientId};Authorization=AAD'");
  });

  describe("app settings against shared/config/schema.ts", () => {
    const appSettings = find(main, "var", "appSettings");
    const names = [...properties(appSettings.value).keys()];
    const PLATFORM = [/^APPLICATIONINSIGHTS_(CONNECTION_STRING|AUTHENTICATION_STRING)$/, /^AzureWebJobsStorage__(credential|clientId|accountName|blobServiceUri|queueServiceUri|tableServiceUri)$/, /^languageWorkers__node__arguments$/];

    it("the Node heap cap follows instanceMemoryMB: three quarters of each allowed instance size", () => {
      expect(properties(appSettings.value).get("languageWorkers__node__arguments")?.text).toBe("'--max-old-space-size=${nodeHeapMB} --experimental-async-context-frame'");
      const formula = find(main, "var", "nodeHeapMB").value?.text ?? "";
      expect(formula).toBe("instanceMemoryMB * 3 / 4");
      const sizes = find(main, "param", "instanceMemoryMB").decorators.join(" ").match(/\d+/g)!.map(Number);
      const heapFor = (mb: number) => Math.trunc(Function("instanceMemoryMB", `return Math.trunc(${formula})`)(mb) as number);
      expect(sizes.map(heapFor)).toEqual(sizes.map((mb) => (mb * 3) / 4));
      expect(sizes.map(heapFor)).toEqual([384, 1536, 3072]);
    });

    it("the function app module receives this object as its app settings", () => {
      expect(at(find(main, "module", "functionApp").value, "params.appSettings")?.text).toBe("appSettings");
    });

    it("every setting the configuration module knows is set (AzureWebJobsStorage in its identity-based form)", () => {
      const missing = APP_SETTING_NAMES.filter((name) =>
        name === "AzureWebJobsStorage"
          ? !(names.includes("AzureWebJobsStorage__credential") && (names.includes("AzureWebJobsStorage__accountName") || ["blob", "queue", "table"].every((s) => names.includes(`AzureWebJobsStorage__${s}ServiceUri`))))
          : !names.includes(name));
      expect(missing).toEqual([]);
      for (const name of REQUIRED_SETTING_NAMES) expect(names.some((n) => n === name || n.startsWith(`${name}__`)), name).toBe(true);
    });

    it("every setting set is one the configuration module knows or a known platform setting", () => {
      const unknown = names.filter((n) => !(APP_SETTING_NAMES as readonly string[]).includes(n) && !PLATFORM.some((p) => p.test(n)));
      expect(unknown).toEqual([]);
      expect(names).not.toContain("FUNCTIONS_WORKER_RUNTIME"); // Flex takes the runtime from functionAppConfig
      expect(names).not.toContain("AzureWebJobsStorage"); // no connection string, no key
      expect(new Set(names).size).toBe(names.length);
    });

    it("required settings come from parameters without a default (or from deployed resources)", () => {
      const settings = properties(appSettings.value);
      for (const name of REQUIRED_SETTING_NAMES) {
        if (name === "AzureWebJobsStorage") continue;
        const refs = [...identifiers(settings.get(name))];
        const params = refs.filter((r) => main.declarations.some((d) => d.kind === "param" && d.name === r));
        const fromResources = refs.some((r) => main.declarations.some((d) => d.kind === "module" && d.name === r)) || /tenant\(\)/.test(settings.get(name)!.text);
        const optionalOnly = params.length > 0 && params.every((p) => find(main, "param", p).value?.text === "''") && !/\? '/.test(settings.get(name)!.text);
        expect(fromResources || (params.length > 0 && !optionalOnly), `${name} = ${settings.get(name)!.text}`).toBe(true);
      }
    });

    /** Secret-name settings that are off unless given: empty by default, so the template asks for no such secret. */
    const OPTIONAL_SECRET_NAMES: Record<string, string> = { APP_CREDENTIAL_SECRET_NAME: "appCredentialSecretName", ONPREM_CA_BUNDLE_SECRET_NAME: "onPremCaBundleSecretName" };

    it("secrets appear only as Key Vault secret names", () => {
      const settings = properties(appSettings.value);
      for (const name of names.filter((n) => /SECRET/.test(n) && !(n in OPTIONAL_SECRET_NAMES))) {
        expect(name, "a secret setting must be a *_SECRET_NAME").toMatch(/_SECRET_NAME$/);
        const defaultName = /'([0-9a-zA-Z-]{1,127})'/.exec(settings.get(name)!.text)?.[1];
        expect(defaultName, `${name} has a valid default secret name`).toBeDefined();
      }
      // No parameter takes a credential value.
      const credentialParams = main.declarations.filter((d) => d.kind === "param" && /secret|password|key|credential|connectionString/i.test(d.name) && !/(Name|Id)$/.test(d.name));
      expect(credentialParams.map((d) => d.name)).toEqual([]);
    });

    it("the app's own secret and the on-premises CA bundle are optional: unset by default, passed through when named", () => {
      const settings = properties(appSettings.value);
      for (const [name, param] of Object.entries(OPTIONAL_SECRET_NAMES)) {
        expect(settings.get(name)?.text, `${name} is its parameter, with no default name`).toBe(param);
        expect(find(main, "param", param).value?.text, `${param} defaults to empty`).toBe("''");
      }
      // No file makes a secret: the vault holds only what operators put there.
      for (const f of parsed.values()) expect(resourcesOfType(f, "Microsoft.KeyVault/vaults/secrets"), f.path).toEqual([]);
      // The deployment outputs the managed identity's object id: the subject of the app's federated credential.
      expect(main.declarations.some((d) => d.kind === "output" && d.name === "MANAGED_IDENTITY_PRINCIPAL_ID")).toBe(true);
    });
  });

  it("sensitive parameters are @secure() and no output exposes one", () => {
    for (const f of parsed.values()) {
      const secure = f.declarations.filter((d) => d.kind === "param" && d.decorators.includes("@secure()")).map((d) => d.name);
      for (const d of f.declarations.filter((x) => x.kind === "param" && /token|secret|password|credential|settings/i.test(x.name) && !/(Name|Id)$/.test(x.name))) {
        expect(secure, `${f.path}: param ${d.name} must be @secure()`).toContain(d.name);
      }
      for (const out of f.declarations.filter((d) => d.kind === "output")) {
        expect(out.name, `${f.path}: output ${out.name}`).not.toMatch(/secret|password|key$|token|credential/i);
        const refs = identifiers(out.value);
        expect(secure.filter((s) => refs.has(s)), `${f.path}: output ${out.name}`).toEqual([]);
        expect(out.value?.text, `${f.path}: output ${out.name}`).not.toMatch(/list(Keys|Secrets|ConnectionStrings)\(/);
      }
    }
    expect(find(main, "param", "tokenCallers").decorators).toContain("@secure()");
    // The template passes secure values only into @secure() module params.
    expect(find(file("modules/function-app.bicep"), "param", "appSettings").decorators).toContain("@secure()");
  });

  it("outputs the function app URL and the vault URL", () => {
    expect(find(main, "output", "FUNCTION_APP_URL").value?.text).toBe("functionApp.outputs.url");
    expect(find(file("modules/function-app.bicep"), "output", "url").value?.text).toBe("'https://${site.properties.defaultHostName}'");
    expect(find(main, "output", "KEY_VAULT_URL").value?.text).toBe("withoutTrailingSlash(vault.outputs.uri)");
    expect(find(file("modules/keyvault.bicep"), "output", "uri").value?.text).toBe("vault.properties.vaultUri");
  });

  describe("role assignments", () => {
    const rbac = file("modules/rbac.bicep");
    const roles = literal(find(rbac, "var", "roles").value) as Record<string, string>;
    const assignments = resourcesOfType(rbac, "Microsoft.Authorization/roleAssignments");
    const existingType = (symbol: string) => rbac.declarations.find((d) => d.kind === "resource" && d.name === symbol && d.existing)?.target?.split("@")[0];

    it("role ids are kept in one map and each id is the built-in role its name says", () => {
      const expected = Object.fromEntries(Object.entries(BUILT_IN_ROLES).map(([name, id]) => [camel(name), id]));
      for (const [key, id] of Object.entries(roles)) expect(expected[key], `roles.${key}`).toBe(id);
      // Each entry carries a comment naming the role.
      const source = find(rbac, "var", "roles").value!.text;
      for (const [name, id] of Object.entries(BUILT_IN_ROLES)) {
        if (Object.values(roles).includes(id)) expect(source).toMatch(new RegExp(`'${id}' // ${name}:`));
      }
      // No role id is written anywhere else.
      for (const f of parsed.values()) {
        const text = readFileSync(f.path, "utf8");
        const guids = text.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? [];
        expect(guids.length, f.path).toBe(f === rbac ? Object.keys(roles).length : 0);
      }
    });

    it("the app's identity gets exactly the roles it needs, each on the right resource", () => {
      const granted = assignments
        .filter((a) => at(a.value, "properties.principalId")?.text === "appPrincipalId")
        .map((a) => {
          const scope = at(a.value, "scope")!.text;
          const role = /roles\.(\w+)\)$/.exec(at(a.value, "properties.roleDefinitionId")!.text)![1]!;
          return `${existingType(scope)} ${role}`;
        });
      expect(granted.sort()).toEqual([
        "Microsoft.Insights/components monitoringMetricsPublisher",
        "Microsoft.KeyVault/vaults keyVaultSecretsUser",
        "Microsoft.Storage/storageAccounts storageBlobDataOwner",
        "Microsoft.Storage/storageAccounts storageQueueDataContributor",
        "Microsoft.Storage/storageAccounts storageTableDataContributor",
      ]);
    });

    it("each assignment is named guid(scope, principal, role) and uses the built-in definition", () => {
      for (const a of assignments) {
        const scope = at(a.value, "scope")!.text;
        const principal = at(a.value, "properties.principalId")!.text;
        const roleRef = /roles\.\w+/.exec(at(a.value, "properties.roleDefinitionId")!.text)![0];
        expect(at(a.value, "name")?.text, a.name).toBe(`guid(${scope}.id, ${principal}, ${roleRef})`);
        expect(at(a.value, "properties.roleDefinitionId")?.text).toBe(`subscriptionResourceId('Microsoft.Authorization/roleDefinitions', ${roleRef})`);
      }
      const app = assignments.filter((a) => at(a.value, "properties.principalId")?.text === "appPrincipalId");
      for (const a of app) expect(literal(at(a.value, "properties.principalType"))).toBe("ServicePrincipal");
    });

    it("the operator's Secrets Officer role is optional", () => {
      const operator = assignments.find((a) => at(a.value, "properties.principalId")?.text === "operatorPrincipalId")!;
      expect(operator.condition).toBe("(!empty(operatorPrincipalId))");
      expect(at(operator.value, "properties.roleDefinitionId")?.text).toContain("roles.keyVaultSecretsOfficer");
    });

    it("the function app is deployed after the role assignments", () => {
      expect(at(find(main, "module", "functionApp").value, "dependsOn")?.text).toBe("[rbac]");
    });
  });

  it("VNet integration: an optional subnet parameter reaches the site's virtualNetworkSubnetId, off when empty", () => {
    const app = file("modules/function-app.bicep");
    expect(find(main, "param", "vnetSubnetResourceId").value?.text).toBe("''");
    expect(find(app, "param", "vnetSubnetResourceId").value?.text).toBe("''");
    expect(at(find(main, "module", "functionApp").value, "params.vnetSubnetResourceId")?.text).toBe("vnetSubnetResourceId");
    const site = only(app, "Microsoft.Web/sites");
    expect(at(site.value, "properties.virtualNetworkSubnetId")?.text).toBe("empty(vnetSubnetResourceId) ? null : vnetSubnetResourceId");
    // The delegation Flex Consumption needs is named where the operator reads the parameter.
    expect(find(main, "param", "vnetSubnetResourceId").decorators.join(" ")).toContain("Microsoft.App/environments");
    const paramFile = JSON.parse(readFileSync(join(infra, "main.parameters.json"), "utf8")) as { parameters: Record<string, { value: string }> };
    expect(paramFile.parameters.vnetSubnetResourceId?.value).toBe("${VNET_SUBNET_RESOURCE_ID}");
  });

  describe("main.parameters.json and azure.yaml", () => {
    const paramFile = JSON.parse(readFileSync(join(infra, "main.parameters.json"), "utf8")) as { parameters: Record<string, { value: string }> };
    const declared = main.declarations.filter((d) => d.kind === "param");

    it("names only declared parameters and covers every parameter without a default", () => {
      const given = Object.keys(paramFile.parameters);
      expect(given.filter((p) => !declared.some((d) => d.name === p))).toEqual([]);
      expect(declared.filter((d) => !d.value && !given.includes(d.name)).map((d) => d.name)).toEqual([]);
      for (const [name, { value }] of Object.entries(paramFile.parameters)) expect(value, name).toMatch(/^\$\{[A-Z_][A-Z0-9_]*\}$/);
    });

    it("maps each bridge setting's parameter from the environment variable of the same name", () => {
      const settings = properties(find(main, "var", "appSettings").value);
      for (const [setting, node] of settings) {
        const params = [...identifiers(node)].filter((r) => declared.some((d) => d.name === r));
        for (const p of params) expect(paramFile.parameters[p]?.value, `${setting} <- ${p}`).toBe(`\${${setting}}`);
      }
    });

    it("azure.yaml deploys the packaged bundle to a function host", () => {
      const yaml = readFileSync(join(root, "azure.yaml"), "utf8");
      expect(yaml).toMatch(/^\s+host: function$/m);
      expect(yaml).toMatch(/^\s+dist: dist\/package$/m);
      expect(yaml).toMatch(/^\s+remoteBuild: false$/m);
      expect(yaml).toMatch(/^\s+run: npm run package$/m);
      expect(yaml).toMatch(/^\s+path: infra$/m);
    });
  });
});
