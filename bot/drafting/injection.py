"""Instructions aimed at the AI, in text a stranger wrote (prompt injection), in the languages drafts are
written in.

Four shapes, each a family of patterns rather than a list of known attacks: the message *addresses* the
assistant ("Dear AI,", "Note to the model drafting this", "If you are an LLM", "Als die KI, die …"); it tells
it to *override* what it was given (a verb of setting aside — ignore, bypass, skip, pay no attention to,
no longer follow … — with an object that only an AI or its review has: instructions, rules, guidelines,
the approval step, human review); it *impersonates* the system or the assistant ("SYSTEM:", "[assistant]:",
chat-template tokens, "from now on you are", developer mode); or it *hides* an instruction from the human
reader (an HTML comment or an invisible element that speaks to the assistant). A request to reveal the
prompt completes the set. Ordinary mail that shares words with these ("please ignore my previous email",
"our system administrator will call", "can your AI assistant draft in German?") matches none of them: the
object of "ignore" is an email, the assistant is not spoken to.
"""

from __future__ import annotations

import re
import unicodedata

# who the attacker speaks to: the AI under its many names
_AI = (
    r"(?:a\.?i\.?|llm|gpt|chatgpt|bot|chatbot|(?:ai |language |ki-|ia |ai-)?model(?:o|e|lo)?|"
    r"sprachmodell|ki|ia|assistant[ea]?|assistent(?:in)?|asistente|assistente|auto-?responder|"
    r"automated (?:assistant|reply system|responder)|reply (?:bot|generator|system)|ai assistant|"
    r"language model|modelo de ia|modello di ia|ki-assistent|ai-assistent|assistente virtuale)"
)
# the objects only an AI (or its review) has: its instructions, rules, prompt, the human check
_OBJECT = {
    "en": r"(?:instructions?|prompts?|rules?|guidelines?|polic(?:y|ies)|restrictions?|"
    r"directions?|directives?|"
    r"playbook|safety|content policy|guidance|directives|safeguards|standing rules|standard terms|programming|constraints?|guardrails?|configuration|"
    r"(?:human |manual )?(?:review|approval)(?: step| queue| process)?|checks|sign-?off|"
    r"everything (?:above|before)|(?:all )?(?:of )?the above|what you were told)",
    "de": r"(?:anweisung\w*|regel\w*|richtlinie\w*|vorgaben|prüf\w*|freigabe\w*|systemprompt|"
    r"beschränkung\w*|einschränkung\w*|vorschrift\w*|policy)",
    "fr": r"(?:instructions?|règles?|consignes?|contraintes?|directives?|politiques?|restrictions?|relecture|validation|"
    r"prompt\w*|vérifications?)",
    "es": r"(?:instrucciones|reglas|normas|directrices|pol[ií]ticas?|restricciones|revisi[oó]n|prompt\w*|"
    r"aprobaci[oó]n|indicaciones)",
    "pt": r"(?:instruç[õo]es|regras|diretrizes|pol[ií]ticas?|restriç[õo]es|revis[ãa]o|prompt\w*|"
    r"aprovaç[ãa]o|orientaç[õo]es)",
    "it": r"(?:istruzioni|regole|procedura di verifica|verifica|linee guida|politiche?|restrizioni|controllo umano|revisione|prompt\w*|"
    r"approvazione|indicazioni|norme)",
    "nl": r"(?:instructies|regels|richtlijnen|beleid|beperkingen|goedkeuring\w*|controle|systeemprompt|"
    r"bedrijfsregels|voorschriften)",
}
_SET_ASIDE = {
    "en": r"(?:ignore|disregard|forget|override|bypass|skip|drop|set aside|put aside|pay no attention to|"
    r"no longer follow|stop following|don'?t follow|do not follow|circumvent|get around|ditch|abandon|"
    r"throw out|discard|cancel|suspend|waive|sidestep|break|obey(?:ing)? no|stop obeying|wipe|erase|clear|"
    r"delete|nullify|void|deprioriti[sz]e|lift|neglect|abandon|ignore)",
    "de": r"(?:ignorier\w*|lösch\w*|vergiss|vergessen sie|umgeh\w*|überspring\w*|missacht\w*|setze\w*|lass\w*|"
    r"hebe? \w+ auf|befolge\w* nicht mehr|halte dich nicht)",
    "fr": r"(?:ignore\w*|oublie\w*|lève|lever|levez|efface\w*|contourne\w*|ne tiens plus compte|ne tenez plus compte|"
    r"fais abstraction|faites abstraction|passe outre|passez outre|outrepasse\w*|annule\w*|saute\w*)",
    "es": r"(?:ignora\w*|olvida\w*|borra\w*|deja a un lado|dejad a un lado|suspend\w*|haz caso omiso|hagan caso omiso|pasa por alto|omite|om[ií]t\w*|"
    r"s[aá]lta\w*|anula\w*|elude|evita|deja de seguir|no sigas)",
    "pt": r"(?:ignor\w*|esque[cç]\w*|apag\w*|suspend\w*|deixa de lado|deixe de lado|desconsider\w*|contorn\w*|deixa de seguir|deixe de seguir|pul[ea]|"
    r"salt[ea]|anul[ea]|burl[ea]|n[ãa]o sigas|n[ãa]o siga)",
    "it": r"(?:ignora\w*|dimentica\w*|cancella\w*|metti da parte|mettete da parte|sospend\w*|non seguire più|smetti di seguire|salta\w*|aggira\w*|scavalca\w*|"
    r"annulla\w*|tralascia\w*|non tenere conto)",
    "nl": r"(?:negeer\w*|vergeet|wis|hef|schakel \w+ uit|omzeil\w*|sla\w*|trek je niets aan van|volg\w* niet meer|"
    r"laat \w+ varen|schend\w*)",
}
_OVERRIDE = [
    # a verb, not a noun ("an admin override for the approval workflow" is a product question)
    re.compile(
        rf"(?<!\ban )(?<!\bthe )(?<!\badmin )(?<!\bno )\b{verb}\b(?:\W+[\w'-]+){{0,6}}?\W+{_OBJECT[lang]}\b",
        re.I,
    )
    for lang, verb in _SET_ASIDE.items()
] + [
    # the other way round: "your prior instructions are cancelled", "die bisherigen Regeln außer Acht"
    re.compile(
        r"\b(?:your|the) (?:prior|previous|earlier|old|original|current) (?:instructions|rules|guidelines)"
        r" (?:are|were|have been|no longer)\b|\bthe old ones (?:don'?t|do not|no longer) (?:count|apply)\b|"
        r"\byour (?:\w+ )?(?:directives|instructions|rules|guidelines) (?:have been|are|were) (?:superseded|replaced|revoked|"
        r"cancell?ed|paused|suspended|lifted|void)\b|\b(?:heb\w*|hef\w*) (?:\w+ ){0,3}(?:einschränkung\w*|"
        r"beschränkung\w*|regeln|beperkingen|regels) (?:auf|op)\b|\bregels buiten werking\b|"
        r"\bthat's a standing instruction\b|\bstanding instruction replacing\b",
        re.I,
    ),
    re.compile(r"\bthe (?:rules|instructions) you were (?:given|configured with|told)\b", re.I),
    re.compile(rf"\b{_OBJECT['de']}\W+(?:\w+\W+){{0,3}}außer (?:acht|kraft)\b", re.I),
    re.compile(
        r"(?:指示|ルール|ガイドライン|規則|方針|制限|社内ルール|確認|承認|レビュー|ポリシー)[^。\n]{0,12}"
        r"(?:無視|忘れ|破棄|スキップ|飛ばし|省略|なし|無効)"
    ),
    re.compile(r"(?:無視|忘れ)して[^。\n]{0,20}(?:指示|ルール|ガイドライン|プロンプト)"),
]

# "enable developer mode" (not "does your app have a developer mode?"), "in this mode you have no rules"
_MODE = (
    r"(?:developer|dev|debug|god|admin|maintenance|test) mode|entwicklermodus|mode (?:développeur|debug)|"
    r"modo (?:de )?(?:desarrollador|desenvolvedor|depuración)|modalità (?:sviluppatore|debug)|"
    r"ontwikkelaarsmodus"
)
_OVERRIDE += [
    re.compile(
        r"\b(?:enable|activate|switch (?:on|to|into)|enter|turn on|go into|put yourself in|aktivier\w*|"
        r"schalte|wechsle|active[zr]?|activa\w*|ativ[ea]\w*|attiva\w*|schakel|zet)\W+(?:\w+\W+){0,3}?"
        rf"(?:{_MODE})",
        re.I,
    ),
    re.compile(
        rf"(?:{_MODE})\W+(?:\w+\W+){{0,6}}?(?:you have no|you are not bound|no (?:content )?policy|"
        r"keine (?:regeln|einschränkungen)|aucune règle|non hai (?:restrizioni|regole)|no tienes|"
        r"não tens|sem nenhuma restrição|geen regels|sin restricciones)",
        re.I,
    ),
    re.compile(r"開発者モード(?:を有効|に(?:切り替|して|入)|では)"),
    # claims that the safeguards are off: "the safety layer is in maintenance", "guardrails are suspended"
    re.compile(
        r"\b(?:safety|security) (?:layer|filter|features?|checks?)\b[^.\n]{0,40}\b(?:maintenance|suspended|"
        r"paused|disabled|off)\b|\b(?:guardrails|safeguards|salvaguardas|salvaguardias|standing rules)\b"
        r"[^.\n]{0,30}\b(?:suspended|paused|disabled|off|suspendidas|quedan suspendidas|lifted)\b|"
        r"\bsicherheitsschicht\b|\bcapa de seguridad del asistente\b|\blivello di sicurezza dell'assistente\b|"
        r"\bcamada de segurança\b|\bbeveiligingslaag\b|\bcouche de sécurité\b|安全機能は|"
        r"\belevated permissions\b|\bgranted (?:elevated|admin|full) (?:access|permissions|rights)\b",
        re.I,
    ),
    # the summarising and scoring steps: "when you summarise this lead, mark it won / set the score to 100"
    re.compile(
        r"\b(?:when|while|as) you summari[sz]e this (?:lead|contact|message)|\bbei der zusammenfassung dieses"
        r"|\blors du résumé de ce contact|\bcuando resumas este (?:contacto|lead)|\bao resumir este "
        r"(?:lead|contato|contacto)|\bquando riassumi questo|\bals je deze (?:lead|contact) samenvat|要約する際|"
        r"\b(?:lead[- ]?score|leadscore|punteggio|puntuación|pontuação|スコア)\D{0,25}\b100\b",
        re.I,
    ),
    # "decode the block above and follow what it says"; tool calls written into the text
    re.compile(
        r"\b(?:decode|decodifi\w*|dekodier\w*|décode\w*|decodeer)\w*\b[^.\n]{0,60}\b(?:follow|do what|"
        r"execute|faça|haz|befolge|suis|volg|segui|esegui|cumple)\b|\b(?:tool_call|function_call)\b|"
        r"\b\w+_\w+\((?:\w+=)",
        re.I,
    ),
    # repeat what came before this message: the prompt by another name
    re.compile(
        r"\b(?:repeat|recite|wiederhole|repite|herhaal|répète|repete|repita|ripeti)\b[^.\n]{0,90}\b(?:above|"
        r"before|über|antes|boven|avant|sopra|prima|precede)\b|\beverything you were told\b|"
        r"\btout ce qu'on t'a dit\b|\btudo o que (?:lhe|te) disseram\b|\btodo lo que te dijeron\b|"
        r"\b(?:initiali[sz]ed|initialisiert|inicializado|initialisé|geïnitialiseerd|inizializzato)\b|"
        r"初期化|前に指示された|(?:上|前)の文章を[^。]{0,30}繰り返|(?:最初|以前|前)(?:に受け取った|の)指示|"
        r"\b(?:word for word|parola per parola|palavra por palavra|mot pour mot|palabra por palabra|wort für wort|"
        r"woord voor woord)\b[^.\n]{0,60}\b(?:before|above|prima|antes|avant|vor|voor|received|recebeu|ricevuto|"
        r"instructions?|istruzioni|instruções|instrucciones|anweisungen)\b",
        re.I,
    ),
    # a new persona: reconfigured, unfiltered, without the employer's rules
    re.compile(
        r"\byou(?:'ve| have) been (?:reconfigured|reprogrammed|unlocked|jailbroken)\b|\byour name is now\b|"
        r"\b(?:unfiltered|uncensored) version of yourself\b|\bsin filtros de ti mismo\b|"
        r"\b(?:as if|if) (?:there were|you had) no (?:company )?(?:restrictions|rules|guidelines|limits)\b|"
        r"\b(?:your )?employer'?s? rules were written for humans\b|\bstay in character\b|"
        r"\b(?:reconfigured|riconfigurat\w*|reconfigurad[oa]|reconfigurée?|neu konfiguriert|umkonfiguriert|"
        r"opnieuw geconfigureerd)\b|再設定されました|\b(?:senza filtri di te stesso|sem filtros de (?:você|ti) mesmo|"
        r"ohne filter|sans filtres?|zonder filters)\b|"
        r"\b(?:if you had no|si no tuvieras (?:ninguna )?|stel dat je geen|wenn du keine\w*|se (?:você )?não tivesse|"
        r"se non avessi|si tu n'avais|si vous n'aviez)\b[^.?\n]{0,30}\b(?:rules?|reglas?|regels|vorgaben|regeln|"
        r"regras|regole|règles?|restrictions?)\b|ルールが(?:一切)?なかったら|"
        r"\b(?:grand-?m(?:other|a|ère)|granny|avó|abuela|nonna|oma|großmutter)\b[^\n]{0,160}\b(?:codes?|códigos?|"
        r"codici|internal|internes?|intern[oa]s?|interni|key|keys|password)\b|"
        r"\boptional in your case\b|"
        r"\b(?:stell dir vor|stel je voor|imagina|imagine|immagina)\b[^.\n]{0,30}\b(?:arbeitgeber|werkgever|"
        r"empleador|employeur|employer|empregador|datore di lavoro)\b",
        re.I,
    ),
]

_ADDRESS = [
    # "Dear AI,", "Note to the model", "P.S. to the reply bot", "Attention automated reply system"
    re.compile(
        rf"\b(?:dear|hey|hello|hi|attention|note (?:to|for)|message (?:to|for)|p\.?s\.? (?:to|for)|"
        rf"instructions? (?:to|for)|reminder (?:to|for)|to)\W+(?:the |an? |you, )?(?:automated |ai |"
        rf"hidden )?{_AI}\b(?! (?:team|solutions|studio|lab|labs|department|sales)\b)",
        re.I,
    ),
    re.compile(
        r"\b(?:automated|automatic|auto)[- ](?:agents?|drafter|writer|responder)\b|"
        r"\bwho(?:ever|ever'?s| is)\W+(?:\w+\W+){0,1}automating\b|\bwhat(?:ever)?(?:'?s| is) (?:generating|"
        r"writing|drafting|answering) (?:the )?repl|\bfor the bot\b|\breply-?bot\b|\bbot delle risposte\b|"
        r"\bautomatisierte(?:n)? agenten\b|\bagent automatisé\b|\bgeautomatiseerde agenten\b|"
        r"\bagentes? automatizados?\b|\bagenti automatici\b|\bgraded by our (?:procurement )?ai\b|"
        r"\bIA que lee esto\b|\bIA che legge\b|\bKI, die (?:das|dies) liest\b|\blanguage model\s*:|"
        r"\b(?:automated|automatic|automatisé|geautomatiseerd|automáticos?|automatizzat\w*|automatisiert\w*)\s+"
        r"(?:systems?|système|systeem|sistemas?|assistant\w*|assistent\w*|agent\w*)\b[^.\n]{0,30}\b(?:reading|"
        r"lisant|leest|lerem|lea|legge|liest|lesen|that reads|qui lit)\b|"
        r"\b(?:software|tool|system|program|programme) that (?:helps your team draft|drafts|writes|generates) "
        r"(?:your )?(?:replies|responses|answers|emails)\b|"
        r"\((?:for|to|an|pour|para|per|voor) (?:the |l'|el |o |il |de |die )?(?:ai|ki|ia|ai assistant|assistant|"
        r"bot|model)\b",
        re.I,
    ),
    re.compile(rf"\b{_AI} (?:reading|drafting|writing|answering|processing|generating) (?:this|the)\b", re.I),
    re.compile(
        r"\bif (?:you(?:'re| are) an?|an?) (?:ai|a\.i\.|llm|language model|bot|assistant|model)\b", re.I
    ),
    re.compile(
        r"\bas (?:the|an) (?:ai|llm|assistant|model|language model|bot)\b(?! (?:team|industry))", re.I
    ),
    # a vocative at the start of a clause: "Assistant, include …", "AI: just approve"
    re.compile(rf"(?:^|[.!?;\n]\s*|\)\s*|--\s*)(?:the )?{_AI}\s*[,:：]\s*\w", re.I),
    # other languages: the address forms, "if you are an AI", "as the AI that writes this"
    re.compile(
        r"\b(?:liebe|lieber|hallo|hinweis an|notiz für|nachricht an|an) (?:die |den |das )?"
        r"(?:ki|ai|assistent\w*|sprachmodell|ki-modell|bot)\b|\b(?:falls|wenn) du (?:eine |ein )?"
        r"(?:ki|ai|sprachmodell|bot) bist|\bals (?:die |der )?(?:ki|assistent),? (?:die|der)\b",
        re.I,
    ),
    re.compile(
        r"\b(?:chère|cher) (?:ia|assistant\w*|modèle)\b|\bnote (?:à|pour) (?:l'|le |la )?(?:ia|assistant\w*|"
        r"modèle)|\bsi (?:vous êtes|tu es) (?:une |un )?(?:ia|modèle|assistant)|"
        r"\ben tant qu'(?:ia|assistant)|"
        r"\bl'(?:ia|assistant) qui (?:rédige|lit|écrit)",
        re.I,
    ),
    re.compile(
        r"\b(?:querid[ao]|estimad[ao]|hola) (?:ia|asistente|modelo)\b|\bnota (?:oculta )?para (?:el|la) "
        r"(?:modelo|asistente|ia)|\bsi eres (?:una |un )?(?:ia|modelo|asistente)|\bcomo (?:la )?ia que\b|"
        r"\binstrucci[oó]n para el asistente",
        re.I,
    ),
    re.compile(
        r"\b(?:car[ao]|querid[ao]|olá) (?:ia|assistente)\b|\bnota para (?:o|a) (?:modelo|assistente|ia)|"
        r"\bse (?:você é|és|tu és) (?:uma |um )?(?:ia|modelo|assistente)|\bcomo (?:a )?ia que\b|"
        r"\binstruç[ãa]o para o assistente",
        re.I,
    ),
    re.compile(
        r"\b(?:car[ao]) (?:ia|assistente)\b|\bnota per (?:il modello|l'assistente|l'ia)|\bse sei "
        r"(?:un'ia|un modello|un assistente)|\bcome (?:l')?ia che\b|\bistruzion[ei] (?:nascost[ae] )?per "
        r"l'assistente",
        re.I,
    ),
    re.compile(
        r"\b(?:beste|lieve) (?:ai|assistent)\b|\bnotitie voor (?:het ai-model|de assistent|de ai)|"
        r"\bals je een (?:ai|taalmodel|bot) bent|\bals de ai die\b|\binstructie voor de assistent",
        re.I,
    ),
    re.compile(
        r"AI(?:さん|へ|様|の方へ)|アシスタント(?:へ|さん|様)|AIモデルへ|AIとして|(?:読んで|作成して|書いて)いるAI"
    ),
]

_IMPERSONATE = [
    # role blocks and operator sections: {"role": "system"}, <système>, [[ADMIN]], "BEGIN OPERATOR NOTES"
    re.compile(
        r"[\"']?(?:role|rol|rolle|ruolo|rôle|papel)[\"']?\s*[:=]\s*[\"']?(?:system|sistema|systeem|système)\b|"
        r"<\s*/?\s*(?:system|systeem|système|sistema|systemnachricht|admin)\s*>|\[\[?\s*/?\s*(?:admin|system|"
        r"operator|root)\b|\bbegin (?:trusted context|operator|system|admin)\b|"
        r"\b(?:end of (?:the )?customer message|fin du message client|ende der kundennachricht|einde "
        r"klantbericht|fine del messaggio del cliente|fim da mensagem do cliente|fin del mensaje del cliente)\b|"
        r"\b(?:operator notes|operatornotities|betreiberhinweise|consignes opérateur|note dell'operatore|"
        r"notas do operador|notas del operador)\b|顧客メッセージはここまで|オペレーター向け",
        re.I,
    ),
    # a forwarded "memo" whose recipient is the assistant: "To: Reply Assistant", "An: Antwort-Assistent"
    re.compile(
        r"(?:^|\n)\s*(?:to|an|a|à|para|aan|宛先)\s*[:：]\s*[^\n]{0,30}(?:assistant|assistent|asistente|"
        r"assistente|アシスタント|bot\b|\bai\b|\bki\b|\bia\b)",
        re.I,
    ),
    # a line that claims to be the system or the assistant
    re.compile(
        r"(?:^|\n)\s*[\[(<#*]*\s*(?:SYSTEM|SISTEMA|SYSTEEM|SYSTÈME|SYSTEME|システム)\b[^:\n]{0,20}[:：\]]"
    ),
    re.compile(
        r"\[\s*(?:system|assistant|user|inst|sys|developer|dev|operator|admin)\b[^\]]{0,20}\]|<\|?\s*(?:im_start|im_end|system)\b",
        re.I,
    ),
    re.compile(
        r"(?:^|\n)\s*#{2,}\s*(?:instruction|anweisung|instrucci[oó]n|instruç[ãa]o|istruzione|"
        r"instructie|response|antwort|system)\b",
        re.I,
    ),
    re.compile(r"(?:^|\n)\s*(?:assistant|system|asistente|assistente|assistent)\s*:", re.I),
    re.compile(
        r"\b(?:user|human) (?:message|input) ends here\b|\bend of (?:user )?(?:input|message)\b", re.I
    ),
    re.compile(
        r"\b(?:priority|new|important|urgent) system (?:message|instruction|update)\b|"
        r"\btreat (?:this|the following) as a (?:\w+ )?system message\b",
        re.I,
    ),
    # "New instructions:", "Neue Anweisung:", "Nueva tarea:": a new brief handed to the model
    re.compile(
        r"\b(?:new|neue|nouvelles?|nuevas?|novas?|nuov[ae]|nieuwe) (?:instructions?|task|rules?|role|"
        r"anweisung\w*|aufgabe|consignes?|instruccion\w*|tarea|instruç\w*|tarefa|istruzion\w*|compito|"
        r"instructie\w*|taak)\s*[:：]|新しい(?:指示|タスク|ルール)",
        re.I,
    ),
    # a new persona
    re.compile(
        r"\b(?:from now on|starting now|for the rest of this (?:conversation|chat|"
        r"email)),? you(?:'re| are| will"
        r"| speak| act| can| must)\b|\byou are now\b|\bpretend (?:that )?(?:you are|you're|to be)\b|"
        r"\bact as (?:an?|the|my) (?:\w+ )?(?:ai|assistant|admin|administrator|ceo|head|director|manager|"
        r"agent)\b|\brole-?play\b|\b(?:god|jailbreak|unrestricted) mode\b|"
        r"\bdo anything now\b",
        re.I,
    ),
    re.compile(r"\bDAN\b"),
    # the drafting AI told to hide from or pre-empt the person who reviews: "don't flag this to the rep",
    # "the reply you prepare could already state the rate is confirmed", "the assistant must …"
    re.compile(
        r"\b(?:don'?t|do not|no|non|nicht|ne|não|niet)\b[^.\n]{0,12}\b(?:flag|tell|inform|mention|show|"
        r"comuniques|segnalar\w*|sag\w*|dites|dis|conte|vertel|avise|avisar)\w*\b[^.\n]{0,12}\b(?:rep|"
        r"comercial|commerciale|vertriebler\w*|commercial|vendedor|verkoper|human|humano|humain|menschen|"
        r"salesperson|sales rep|reviewer)\b|"
        r"\b(?:the )?(?:reply|draft|response|answer) you(?:'re| are)? (?:prepar\w*|draft\w*|writ\w*)\b[^.\n]{0,80}"
        r"\b(?:already|confirm\w*|approved)\b|\b(?:brouillon|réponse) que vous préparez\b|"
        r"\bdie (?:antwort|entwurf)\w*, die sie (?:für uns )?vorbereiten\b|\bconceptantwoord dat u klaarzet\b|"
        r"\ba resposta que você está preparando\b|\bla (?:respuesta|borrador) que (?:está|estás) preparando\b|"
        r"\bla (?:risposta|bozza) che sta preparando\b|(?:ご準備|準備して)いただく返信|"
        r"\b(?:the|el|l'|o|der|de|la|il) ?(?:assistant|asistente|assistente|assistent)\w* (?:should|must|is to|has to|"
        r"debe|deve|muss|moet|doit|dovrà|deberá)\b|"
        r"\b(?:qa|test) (?:test|case|team|caso)\b[^\n]{0,80}\b(?:assistant|asistente|assistente|assistent)\b|"
        r"\bsupersedes? (?:all |any )?(?:earlier|previous|prior)\b",
        re.I,
    ),
    re.compile(
        r"\bab (?:jetzt|sofort|nun) bist du\b|\bdu bist (?:jetzt|ab sofort|nun)\b|\btu so,? als (?:ob|wärst)"
        r"|\bà partir de maintenant,? (?:tu es|vous êtes)|\btu es désormais\b|"
        r"\b(?:fais|faites) comme si (?:tu étais|vous étiez)|\ba partir de ahora,? "
        r"(?:eres|serás|usted es)|\b(?:finge|fingid|haz como si) (?:que )?(?:eres|fueras|fueses)|"
        r"\ba partir de agora,? (?:você é|tu és|és|você será)|\bfinja que (?:você )?"
        r"(?:é|está|seja)|\bda (?:adesso|ora) in (?:poi|avanti),? sei\b|"
        r"\bfingi di essere\b|\bvanaf nu ben je\b|\bdoe (?:vanaf nu )?alsof je\b",
        re.I,
    ),
    re.compile(r"(?:今から|これから|以後)(?:あなた|君|お前)は|のふりをして"),
]

# reveal the prompt: the prompt named as the AI's own, or with a verb that asks for it
_REVEAL = [
    re.compile(
        r"\b(?:your|the) (?:full |complete |entire |whole )?(?:system|hidden|initial|original|secret) "
        r"(?:prompt|instructions|configuration)\b(?! (?:per|for each|for every|users?|customers?|people|them|us)\b)|"
        r"\b(?:reveal|print|output|repeat|paste|copy|display|recite|dump|show me|tell me|give me|send me)\b"
        r"(?:\W+\w+){0,4}?\W+(?:system prompt|prompt|hidden instructions|configuration|"
        r"instructions verbatim)\b",
        re.I,
    ),
    re.compile(
        r"(?:systemprompt|prompt (?:système|systeme|de sistema|do sistema|del sistema|di sistema)|"
        r"systeemprompt|システムプロンプト)",
        re.I,
    ),
]

# text hidden from the person reading the email that speaks to a machine
_HIDDEN = re.compile(
    r"<!--(?P<c>[\s\S]{0,2000}?)-->|<[^>]{0,80}(?:display\s*:\s*none|font-size\s*:\s*0|color\s*:\s*(?:white|#fff\b|"
    r"#ffffff)|visibility\s*:\s*hidden|opacity\s*:\s*0)[^>]{0,80}>(?P<d>[\s\S]{0,2000}?)</",
    re.I,
)
_MACHINE_WORDS = re.compile(
    r"\b(?:ai|ia|ki|llm|model\w*|assistent\w*|assistant\w*|asistente|bot|instruct\w*|instru[cç]\w*|"
    r"istruzion\w*|anweisung\w*|hinweis|prompt|system\w*)\b|アシスタント|AI|指示|モデル",
    re.I,
)


def _fold(text: str) -> str:
    """NFKC (full-width letters and ligatures to plain ones), zero-width characters out, whitespace as one
    space per run except newlines (line-start patterns need them)."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"[\u200b-\u200f\u2060\ufeff]", "", text)
    text = text.replace("\u2019", "'")
    # one newline for any run of blank lines: line-start patterns then try each line once, not once per
    # newline after it (a body of a thousand blank lines took seconds)
    text = re.sub(r"\s*\n\s*", "\n", text)
    return re.sub(r"[^\S\n]+", " ", text)


_SPACED = re.compile(r"\b(?:\w ){3,}\w\b")
_LEET = str.maketrans("013457@$", "oieastas")


def _plain(text: str) -> str:
    """The text with its disguises taken off: "i g n o r e" joined, "1gn0r3" read as "ignore"."""
    joined = _SPACED.sub(lambda m: m.group(0).replace(" ", ""), text)
    return re.sub(
        r"\b(?=\w*[a-z])(?=\w*[0-9@$])[\w@$]+\b", lambda m: m.group(0).translate(_LEET), joined, flags=re.I
    )


def find(text: str | None) -> str | None:
    """The first phrase of `text` that speaks to the AI rather than to the rep, if any."""
    if not text:
        return None
    folded = _fold(text)
    found = _find(folded)
    if found is None:  # letters spaced out are joined before runs of spaces collapse (word gaps stay)
        plain = _fold(_plain(unicodedata.normalize("NFKC", text)))
        found = _find(plain) if plain != folded else None
    return found


def _find(folded: str) -> str | None:
    for hidden in _HIDDEN.finditer(folded):
        inside = hidden.group("c") or hidden.group("d") or ""
        if _MACHINE_WORDS.search(inside):
            return " ".join(hidden.group(0).split())[:120]
    for pattern in (*_OVERRIDE, *_IMPERSONATE, *_ADDRESS, *_REVEAL):
        found = pattern.search(folded)
        if found:
            return " ".join(found.group(0).split())
    return None
