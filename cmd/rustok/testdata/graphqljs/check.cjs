// check.cjs: what a GraphQL schema tool does against a RusToK server, with
// graphql-js itself (the reference implementation every tool builds on).
//
// Usage: node check.cjs BASE_URL DOCUMENTS_JSON
//   BASE_URL        e.g. http://127.0.0.1:5150
//   DOCUMENTS_JSON  a file holding [{"name": "...", "query": "..."}]
//
// It sends getIntrospectionQuery() to BASE_URL/api/graphql WITHOUT a tenant
// header (as GraphiQL and codegen do on opening), builds the client schema,
// fetches the SDL from BASE_URL/api/graphql/schema.graphql (also without a
// tenant), compares the two schemas printed in lexicographic order, and
// validates each document against the client schema. It prints one JSON
// report on stdout and exits 0; a failure to run at all exits 1.
"use strict";
const fs = require("fs");
const g = require("graphql");

async function main() {
  const [base, docsFile] = process.argv.slice(2);
  const report = { graphqlVersion: g.version };

  const introspectionResp = await fetch(base + "/api/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ query: g.getIntrospectionQuery(), operationName: "IntrospectionQuery" }),
  });
  report.introspectionStatus = introspectionResp.status;
  const introspection = await introspectionResp.json();
  report.introspectionErrors = introspection.errors || [];
  if (!introspection.data) {
    console.log(JSON.stringify(report));
    return;
  }
  const clientSchema = g.buildClientSchema(introspection.data);
  report.types = Object.keys(clientSchema.getTypeMap()).filter((n) => !n.startsWith("__")).sort();

  const sdlResp = await fetch(base + "/api/graphql/schema.graphql");
  report.sdlStatus = sdlResp.status;
  const sdl = await sdlResp.text();
  const sdlSchema = g.buildSchema(sdl);
  const fromIntrospection = g.printSchema(g.lexicographicSortSchema(clientSchema));
  const fromSDL = g.printSchema(g.lexicographicSortSchema(sdlSchema));
  report.schemasEqual = fromIntrospection === fromSDL;
  if (!report.schemasEqual) {
    const a = fromIntrospection.split("\n");
    const b = fromSDL.split("\n");
    report.firstDifference = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i] !== b[i]) {
        report.firstDifference.push({ line: i + 1, introspection: a[i], sdl: b[i] });
        if (report.firstDifference.length >= 5) break;
      }
    }
  }
  report.schemaErrors = g.validateSchema(clientSchema).map((e) => e.message);
  report.emptyDescriptions = JSON.stringify(introspection.data).split('"description":""').length - 1;

  const docs = JSON.parse(fs.readFileSync(docsFile, "utf8"));
  report.documents = docs.map((d) => {
    try {
      return { name: d.name, errors: g.validate(clientSchema, g.parse(d.query)).map((e) => e.message) };
    } catch (e) {
      return { name: d.name, errors: [String(e.message || e)] };
    }
  });
  console.log(JSON.stringify(report));
}

main().catch((e) => {
  console.error(String((e && e.stack) || e));
  process.exit(1);
});
