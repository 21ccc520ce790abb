package dev.edgellm.service.api.openai;

import dev.edgellm.service.request.SamplingFields;

/** The sampling fields plus what only OpenAI's API has: streaming options and the options we refuse. */
public interface OpenAiFields extends SamplingFields {
    Boolean stream();

    StreamOptions streamOptions();

    Integer n();

    Double presencePenalty();

    Double frequencyPenalty();

    Boolean logprobs();
}
