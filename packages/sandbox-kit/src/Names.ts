/**
 * French people and company names for seeded sandbox data, with e-mail addresses built from
 * them.
 *
 * @since 0.1.0
 */
import type { Prng } from "./Prng.js"

/** @since 0.1.0 */
export type Civilite = "M." | "Mme"

/**
 * First names by civilité.
 *
 * @since 0.1.0
 */
export const firstNames: { readonly [K in Civilite]: ReadonlyArray<string> } = {
  "M.": [
    "Lucas", "Hugo", "Louis", "Gabriel", "Arthur", "Jules", "Adam", "Raphaël", "Léo", "Nathan",
    "Théo", "Tom", "Maël", "Noé", "Sacha", "Paul", "Mathis", "Enzo", "Clément", "Antoine",
    "Baptiste", "Quentin", "Julien", "Nicolas", "Thomas", "Maxime", "Alexandre", "Romain",
    "Benoît", "François"
  ],
  Mme: [
    "Emma", "Jade", "Louise", "Alice", "Chloé", "Lina", "Léa", "Manon", "Inès", "Camille",
    "Zoé", "Juliette", "Sarah", "Clara", "Lucie", "Anaïs", "Margaux", "Pauline", "Mathilde",
    "Élise", "Océane", "Laura", "Marine", "Justine", "Amélie", "Céline", "Héloïse", "Noémie",
    "Agathe", "Maëlys"
  ]
}

/**
 * Family names.
 *
 * @since 0.1.0
 */
export const lastNames: ReadonlyArray<string> = [
  "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau",
  "Laurent", "Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David", "Bertrand", "Morel",
  "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent",
  "Muller", "Lefebvre", "Faure", "André", "Mercier", "Blanc", "Guérin", "Boyer", "Garnier",
  "Chevalier", "François", "Legrand", "Gauthier", "Garcia", "Perrin", "Robin", "Clément",
  "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson", "Le Gall", "Le Goff",
  "Marchand", "Duval", "Denis", "Dumont", "Marie", "Lemaire", "Noël", "Meyer"
]

const companyStems: ReadonlyArray<string> = [
  "Boulangerie", "Garage", "Pharmacie", "Cabinet", "Atelier", "Transports", "Menuiserie",
  "Imprimerie", "Jardinerie", "Librairie", "Hôtel", "Agence", "Électricité", "Plomberie"
]

const companyForms: ReadonlyArray<string> = ["SARL", "SAS", "SA", "EURL", "SASU"]

/**
 * A generated person.
 *
 * @since 0.1.0
 */
export interface Person {
  readonly civilite: Civilite
  readonly prenom: string
  readonly nom: string
}

/**
 * A random person.
 *
 * @since 0.1.0
 */
export const person = (prng: Prng): Person => {
  const civilite: Civilite = prng.bool() ? "M." : "Mme"
  return { civilite, prenom: prng.pick(firstNames[civilite]), nom: prng.pick(lastNames) }
}

/**
 * A random company name, e.g. "Boulangerie Moreau SARL".
 *
 * @since 0.1.0
 */
export const companyName = (prng: Prng): string =>
  `${prng.pick(companyStems)} ${prng.pick(lastNames)} ${prng.pick(companyForms)}`

/**
 * Lower-case ASCII slug: accents removed, anything else than letters and digits becomes `-`.
 *
 * @since 0.1.0
 */
export const slug = (text: string): string =>
  text
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")

/**
 * `prenom.nom@domain` in ASCII, with an optional suffix to keep addresses unique
 * (`prenom.nom2@domain`).
 *
 * @since 0.1.0
 */
export const email = (who: { readonly prenom: string; readonly nom: string }, domain: string, suffix = ""): string =>
  `${slug(who.prenom)}.${slug(who.nom)}${suffix}@${domain}`.replace(/-/g, "")
