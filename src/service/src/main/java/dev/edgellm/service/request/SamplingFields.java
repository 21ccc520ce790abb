package dev.edgellm.service.api.openai;

import com.fasterxml.jackson.databind.JsonNode;

/** The generation fields chat and text completion requests share. */
public interface SamplingFields {
    Double temperature();

    Double topP();

    Integer topK();

    Double minP();

    Long seed();

    Integer maxTokens();

    JsonNode stop();

    Boolean stream();

    StreamOptions streamOptions();

    Integer n();

    Double presencePenalty();

    Double frequencyPenalty();

    Double repeatPenalty();

    Integer repeatLastN();

    Boolean ignoreEos();

    Boolean logprobs();
}
