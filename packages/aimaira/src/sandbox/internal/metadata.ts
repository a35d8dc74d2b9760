/**
 * A CSDL document (`GET /GraphV1/$metadata`) generated from the sandbox's model, in the shape the
 * documentation shows for `Civilite`.
 */
import { entities, entitySets, type FieldKind } from "./model.js"

const edmType: Record<FieldKind, string> = {
  string: "Edm.String",
  int: "Edm.Int32",
  decimal: "Edm.Decimal",
  boolean: "Edm.Boolean",
  date: "Edm.DateTimeOffset",
  array: "Collection(Edm.Int32)"
}

let cached: string | undefined

export const metadataXml = (): string => {
  if (cached !== undefined) return cached
  const types = Object.values(entities).map((entity) => {
    const properties = Object.entries(entity.fields)
      .filter(([, spec]) => spec.hidden !== true)
      .map(([name, spec]) =>
        `        <Property Name="${name}" Type="${edmType[spec.kind]}"${spec.kind === "boolean" ? ` Nullable="false"` : ""}/>`
      )
    const navigations = Object.entries(entity.navigation).map(([name, navigation]) =>
      navigation.kind === "one"
        ? `        <NavigationProperty Name="${name}" Type="GraphV1.${entities[navigation.target].name}"/>`
        : `        <NavigationProperty Name="${name}" Type="Collection(GraphV1.${entities[navigation.target].name})"/>`
    )
    return [
      `      <EntityType Name="${entity.name}" BaseType="GraphV1.Base">`,
      ...properties,
      ...navigations,
      `      </EntityType>`
    ].join("\n")
  })
  const sets = Object.entries(entitySets).map(([name, collection]) =>
    `        <EntitySet Name="${name}" EntityType="GraphV1.${entities[collection].name}"/>`
  )
  cached = [
    `<?xml version="1.0" encoding="utf-8"?>`,
    `<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">`,
    `  <edmx:DataServices>`,
    `    <Schema Namespace="GraphV1" xmlns="http://docs.oasis-open.org/odata/ns/edm">`,
    `      <EntityType Name="Base" Abstract="true">`,
    `        <Key><PropertyRef Name="Id"/></Key>`,
    `        <Property Name="Id" Type="Edm.Int32" Nullable="false"/>`,
    `      </EntityType>`,
    ...types,
    `      <EntityContainer Name="Container">`,
    ...sets,
    `      </EntityContainer>`,
    `    </Schema>`,
    `  </edmx:DataServices>`,
    `</edmx:Edmx>`
  ].join("\n")
  return cached
}
