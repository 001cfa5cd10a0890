/*
 * xml.c: the XML reading that the XML-speaking sources (OAI-PMH, DataCite
 * XML) share, on libxml2. A body is parsed from memory with the network and
 * entity expansion off (no XXE, no billion laughs) and within the response
 * ceiling the fetch already enforced. Elements are found by local name,
 * ignoring namespaces and letter case, because providers in the wild send
 * lower-cased element names (SciCat's OAI provider) and every namespace
 * prefix under the sun. Text comes back trimmed, in memory the caller frees
 * with ps_free.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "harvest-private.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

ps_status psi_xml_parse(const char *body, size_t len, const char *what,
                        xmlDoc **out, ps_err *err)
{
    *out = NULL;
    if (len > (size_t)INT32_MAX)
        return ps_err_set(err, PS_ERR_TOOBIG, "%s: the XML is too large", what);
    char first[160] = "";
    xmlParserCtxtPtr ctx = xmlNewParserCtxt();
    if (!ctx)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    xmlDoc *doc = xmlCtxtReadMemory(
        ctx, body, (int)len, NULL, NULL,
        XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOCDATA |
            XML_PARSE_COMPACT | XML_PARSE_NOWARNING | XML_PARSE_NOERROR);
    int ok = ctx->wellFormed;
    const xmlError *e = xmlCtxtGetLastError(ctx);
    if (!ok && e && e->message) {
        snprintf(first, sizeof first, "line %d: %s", e->line, e->message);
        size_t n = strlen(first);
        while (n && (first[n - 1] == '\n' || first[n - 1] == ' '))
            first[--n] = '\0';
    }
    xmlFreeParserCtxt(ctx);
    if (!doc || !ok || !xmlDocGetRootElement(doc)) {
        if (doc)
            xmlFreeDoc(doc);
        return ps_err_set(err, PS_ERR_PARSE, "%s: not well-formed XML (%s)",
                          what, first[0] ? first : "no root element");
    }
    *out = doc;
    return PS_OK;
}

int psi_xml_is(const xmlNode *n, const char *local)
{
    return n && n->type == XML_ELEMENT_NODE && n->name &&
           strcasecmp((const char *)n->name, local) == 0;
}

xmlNode *psi_xml_next(xmlNode *n, const char *local)
{
    for (; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && (!local || psi_xml_is(n, local)))
            return n;
    return NULL;
}

xmlNode *psi_xml_child(xmlNode *parent, const char *local)
{
    return parent ? psi_xml_next(parent->children, local) : NULL;
}

xmlNode *psi_xml_path(xmlNode *n, const char *const *locals)
{
    for (; n && *locals; locals++)
        n = psi_xml_child(n, *locals);
    return n;
}

char *psi_xml_text(const xmlNode *n)
{
    if (!n)
        return NULL;
    xmlChar *t = xmlNodeGetContent(n);
    if (!t)
        return NULL;
    const char *s = (const char *)t;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
                   s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--;
    char *out = len ? ps_strndup(s, len) : NULL;
    xmlFree(t);
    return out;
}

char *psi_xml_attr(const xmlNode *n, const char *name)
{
    if (!n || n->type != XML_ELEMENT_NODE)
        return NULL;
    for (const xmlAttr *a = n->properties; a; a = a->next) {
        if (a->name && strcasecmp((const char *)a->name, name) == 0) {
            xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);
            char *out = v ? ps_strdup((const char *)v) : NULL;
            xmlFree(v);
            return out;
        }
    }
    return NULL;
}

char *psi_xml_serialise(xmlNode *n, size_t *len_out)
{
    *len_out = 0;
    xmlBufferPtr buf = xmlBufferCreate();
    if (!buf)
        return NULL;
    char *out = NULL;
    if (xmlNodeDump(buf, n->doc, n, 0, 0) >= 0) {
        size_t len = (size_t)xmlBufferLength(buf);
        out = ps_strndup((const char *)xmlBufferContent(buf), len);
        if (out)
            *len_out = len;
    }
    xmlBufferFree(buf);
    return out;
}
