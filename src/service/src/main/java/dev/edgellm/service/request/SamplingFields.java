package dev.edgellm.service.request;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The generation fields every intake takes (REST chat and text completions, MQTT requests), in the
 * REST API's terms, so {@link RequestRules} checks them the same way whoever sent them. Null means
 * "not given" (the default applies).
 */
public interface SamplingFields {
    Integer maxTokens();

    Double temperature();

    Long seed();

    Double topP();

    Integer topK();

    Double minP();

    Double repeatPenalty();

    Integer repeatLastN();

    /** A string or an array of strings. */
    JsonNode stop();

    /** llama.cpp's {@code ignore_eos}; intakes without it leave it null. */
    default Boolean ignoreEos() {
        return null;
    }
}
